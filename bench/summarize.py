#!/usr/bin/env python3
"""Median-of-runs table of a bench TSV, with clusterkit's throughput as a ratio of the
reference system (etcd) measured in the same run."""
import csv
import statistics
import sys
from collections import OrderedDict

groups = OrderedDict()
with open(sys.argv[1]) as f:
    for r in csv.DictReader(f, delimiter="\t"):
        if r["rps"] in ("NA", ""):
            continue
        mode = r.get("mode") or "-"
        groups.setdefault((r["system"], r["op"], mode, int(r["conns"])), []).append(r)


def med(rows, col):
    return statistics.median(float(r[col]) for r in rows)


print("| system | op | load | conns | runs | req/s (median) | p50 ms | p99 ms | errors | vs etcd |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
for (system, op, mode, c), rows in groups.items():
    rps = med(rows, "rps")
    ref = groups.get(("etcd", op, mode, c))
    ratio = f"{rps / med(ref, 'rps'):.2f}x" if ref and system != "etcd" else ""
    errors = sum(int(float(r["errors"])) for r in rows)
    print(f"| {system} | {op} | {mode} | {c} | {len(rows)} | {rps:,.0f} | {med(rows, 'p50_us') / 1000:.2f} "
          f"| {med(rows, 'p99_us') / 1000:.2f} | {errors} | {ratio} |")
