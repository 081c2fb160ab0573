"""A stronger baseline: the paging loop a careful user writes with 8 threads
(ThreadPoolExecutor), 8 pages in flight at a time.

Usage: python3 benches/baseline_scan_threads.py URL   (prints the number of CDRs read)
"""
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

url = sys.argv[1].rstrip("/")
local = threading.local()
PAGE, THREADS = 1000, 8


def page(offset):
    session = getattr(local, "session", None)
    if session is None:
        session = local.session = requests.Session()
        session.auth = ("sandbox", "sandbox")
    answer = session.get(f"{url}/api/cdrs", params={"limit": f"{PAGE};{offset}"})
    answer.raise_for_status()
    return len(answer.json()["cdrs"])


total, offset = 0, 0
with ThreadPoolExecutor(THREADS) as pool:
    while True:
        counts = list(pool.map(page, range(offset, offset + PAGE * THREADS, PAGE)))
        total += sum(counts)
        offset += PAGE * THREADS
        if min(counts) < PAGE:
            break
print(total)
