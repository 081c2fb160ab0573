"""The baseline a user would write instead of tdc: a sequential paging loop with requests.

Usage: python3 benches/baseline_scan.py URL   (prints the number of CDRs read)
"""
import sys

import requests

url = sys.argv[1].rstrip("/")
session = requests.Session()
session.auth = ("sandbox", "sandbox")
offset, total, page = 0, 0, 1000
while True:
    answer = session.get(f"{url}/api/cdrs", params={"limit": f"{page};{offset}"})
    answer.raise_for_status()
    rows = answer.json()["cdrs"]
    total += len(rows)
    if len(rows) < page:
        break
    offset += page
print(total)
