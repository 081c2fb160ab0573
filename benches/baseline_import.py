"""The baseline a user would write instead of tdc: sequential chunked POSTs of leads.

Usage: python3 benches/baseline_import.py URL COUNT CHUNK TAG   (prints the number inserted)
"""
import sys

import requests

url, count, chunk, tag = sys.argv[1].rstrip("/"), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
session = requests.Session()
session.auth = ("sandbox", "sandbox")
inserted = 0
for start in range(0, count, chunk):
    leads = [
        {"phone": f"4470{10000000 + i}", "original_identifier": f"{tag}-{i}"}
        for i in range(start, min(start + chunk, count))
    ]
    answer = session.post(f"{url}/api/leads", json=leads)
    answer.raise_for_status()
    inserted += len(answer.json()["leads"])
print(inserted)
