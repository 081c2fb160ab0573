"""An independent check of an import: pages through every lead with requests (retrying
through the sandbox's faults) and counts the leads whose original_identifier starts with TAG-.

Usage: python3 benches/check_import.py URL TAG   (prints: rows unique)
"""
import sys
import time

import requests

url, tag = sys.argv[1].rstrip("/"), sys.argv[2]
session = requests.Session()
session.auth = ("sandbox", "sandbox")


def page(offset):
    for _ in range(200):
        try:
            answer = session.get(f"{url}/api/leads/limit/1000;{offset}/", timeout=10)
            if answer.status_code == 200:
                return answer.json()["leads"]
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise SystemExit("the sandbox never answered")


ids, offset = [], 0
while True:
    leads = page(offset)
    ids += [l["original_identifier"] for l in leads if (l["original_identifier"] or "").startswith(tag + "-")]
    if len(leads) < 1000:
        break
    offset += 1000
print(len(ids), len(set(ids)))
