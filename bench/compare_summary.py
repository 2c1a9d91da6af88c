#!/usr/bin/env python3
"""One table of issue 12's goals from the outputs bench/compare.sh collected in a directory:
idle.out (bench/idle_cpu.sh), kv.out (bench/kv_cluster.sh, whose raw TSV it names) and
move.out (bench/join_move.sh). A figure that is missing (a part failed or was skipped) is
shown as "-", never guessed."""
import csv
import re
import statistics
import sys
from pathlib import Path

work = Path(sys.argv[1])
rows = []  # (goal, figure text, target text, met: True/False/None)


def read(name):
    p = work / name
    return p.read_text() if p.exists() else ""


# --- idle CPU: "nodes partitions total per-node..." lines --------------------------------
idle_goals = {("1", "64"): 1.0, ("3", "64"): 3.0, ("9", "1024"): 20.0}
for line in read("idle.out").splitlines():
    m = re.match(r"^(\d+)\s+(\d+)\s+([\d.]+)\s", line)
    if m and (m[1], m[2]) in idle_goals:
        limit = idle_goals[(m[1], m[2])]
        used = float(m[3])
        rows.append((f"idle CPU, {m[1]} x {m[2]} partitions", f"{used:.1f} % of a core",
                     f"<= {limit:g} %", used <= limit))

for kill in re.finditer(r"kill -9 of (\S+) \((\d+) x (\d+), leading (\d+) partitions\): "
                       r"(every partition led on a survivor after ([\d.]+) s)?", read("idle.out")):
    figure = f"{kill[6]} s for {kill[4]} partitions" if kill[6] else "not within 60 s"
    rows.append((f"new leaders after kill -9 of {kill[1]}, {kill[2]} x {kill[3]}", figure, "<= 3 s",
                 kill[6] is not None and int(kill[4]) > 0 and float(kill[6]) <= 3.0))

# --- KV load: the raw TSV kv_cluster.sh names ---------------------------------------------
m = re.search(r"raw results: (\S+)", read("kv.out"))
cells = {}
if m and Path(m[1]).exists():
    with open(m[1]) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if r["rps"] not in ("NA", ""):
                key = (r["system"], r["op"], r.get("mode") or "-", int(r["conns"]))
                cells.setdefault(key, []).append(r)


def median(key, col):
    rs = cells.get(key)
    return statistics.median(float(r[col]) for r in rs) if rs else None


for op, label in (("set", "writes"), ("get", "linearizable reads")):
    for mode in ("single", "spread"):
        for conns in (16, 64):
            if op == "get" and conns != 64:
                continue  # the read goal is stated at 64 connections
            ck = median(("clusterkit", op, mode, conns), "rps")
            ref = median(("etcd", op, mode, conns), "rps")
            if ck is None or ref is None:
                rows.append((f"{label}, {mode}, {conns} conns", "-", ">= 2x etcd", None))
                continue
            ratio = ck / ref
            text = f"{ck:,.0f} vs {ref:,.0f} req/s = {ratio:.2f}x"
            met = ratio >= 2.0
            if op == "set":
                p99 = median(("clusterkit", op, mode, conns), "p99_us")
                ref99 = median(("etcd", op, mode, conns), "p99_us")
                text += f", p99 {p99 / 1000:.1f} vs {ref99 / 1000:.1f} ms"
                met = met and p99 <= ref99
            rows.append((f"{label}, {mode}, {conns} conns", text,
                         ">= 2x etcd" + (", p99 <= etcd" if op == "set" else ""), met))
stale = median(("clusterkit", "stale", "single", 64), "rps")
rows.append(("stale reads, one node, 64 conns", "-" if stale is None else f"{stale:,.0f} req/s",
             ">= 40,000 req/s", None if stale is None else stale >= 40000))

# --- join move -----------------------------------------------------------------------------
move = read("move.out")
rate = re.search(r"\| move rate \| ([\d.]+) MB/s", move)
fg = re.findall(r"foreground GET on node-1, (before|during the move) \| ([\d,]+) req/s, p99 ([\d.]+) ms",
                move)
if rate:
    text = f"{float(rate[1]):.1f} MB/s"
    if len(fg) == 2:
        text += f"; GET p99 {fg[0][2]} ms before, {fg[1][2]} ms during"
    rows.append(("join move rate", text, ">= 50 MB/s", float(rate[1]) >= 50))
else:
    rows.append(("join move rate", "-", ">= 50 MB/s", None))

print("| goal (issue 12) | figure | target | met |")
print("|---|---|---|---|")
for goal, figure, target, met in rows:
    print(f"| {goal} | {figure} | {target} | {'-' if met is None else ('yes' if met else 'no')} |")
