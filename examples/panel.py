#!/usr/bin/env python3
"""Every HIMA brand, month by month, in one request: a pandas DataFrame written to CSV and Excel.

    pip install './clients/python[pandas]' openpyxl
    python3 examples/panel.py 2025-01 2025-05 hima-brands   # hima-brands.csv and hima-brands.xlsx
"""
import sys

from deliverytracker import Client

start, end = (sys.argv[1], sys.argv[2]) if len(sys.argv) > 2 else ("2024-06", "2025-05")
name = sys.argv[3] if len(sys.argv) > 3 else "hima-brands"
with Client() as client:
    brands = [b["id"] for b in client.catalog()["brands"] if b["group"] == "hima"]
    frame = client.panel([{"brand": b} for b in brands] + [{"group": "HIMA"}], start, end).to_frame()
print(frame)
frame.to_csv(f"{name}.csv")
try:
    frame.to_excel(f"{name}.xlsx", sheet_name="deliveries")
    print(f"wrote {name}.csv and {name}.xlsx")
except ImportError:
    print(f"wrote {name}.csv (pip install openpyxl for the Excel file)")
