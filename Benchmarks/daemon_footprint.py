#!/usr/bin/env python3
"""Benchmark: the daemon's footprint with 200 jobs, idle and under a burst of new data.

1. Idle: 200 jobs configured (each watching its incoming directory, `on_new_data`), no new data.
   After the start-up cycles settle, the daemon's CPU time over IDLE_SECONDS (from
   /proc/PID/stat) and its resident memory (VmRSS, and the peak VmHWM).
   Targets (issue 18): at most 0.5 % of one core, at most 30 MB resident. Resident memory is also
   split into private memory (RssAnon: the heap, stacks) and shared file pages (RssFile: the code
   of the binary and its libraries that start-up touched, which the kernel can drop and re-read).
2. Burst: every job receives one small batch (600 rows) at the same moment. Every job's run must
   complete (a first model, promoted); printed: runs per minute, and the scheduling delay (the
   batch's arrival to its run's start, from the registry's timestamps) at p50, p90, p99 and max.

No peer is named for this benchmark. Usage: `make release` (the UPDATER
environment variable overrides the binary's path), then
`python3 Benchmarks/daemon_footprint.py` (standard library only). `make bench` runs it.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UPDATER = Path(os.environ.get("UPDATER", ROOT / ".build" / "release" / "updater"))
JOBS = 200
IDLE_SECONDS = 30
ROWS = 600


def batch(seed: int) -> str:
    rng = random.Random(seed)
    lines = ["id,x1,x2,colour,y"]
    for i in range(ROWS):
        x1, x2 = rng.gauss(0, 1), rng.gauss(5, 2)
        colour = rng.choice(["red", "green", "blue"])
        z = 1.8 * x1 - 0.9 * (x2 - 5) + (0.8 if colour == "red" else 0)
        y = "yes" if rng.random() < 1 / (1 + 2.718281828 ** -z) else "no"
        lines.append(f"id{i},{x1:.4f},{x2:.4f},{colour},{y}")
    return "\n".join(lines) + "\n"


def job_file(name: str) -> str:
    return f"""[data]
incoming = "../incoming/{name}"
label = "y"
positive_label = "yes"
exclude = ["id"]
categorical = ["colour"]
holdout = 0.25
settle_time = "0s"

[schedule]
interval = "1h"
on_new_data = true
debounce = "0s"

[gate]
min_rows = 50

[[gate.rules]]
metric = "roc_auc"
min = 0.7

[deploy]
path = "../deploy/{name}.model"
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def status_mb(pid: int) -> dict[str, float]:
    """The memory lines of /proc/PID/status (VmRSS, VmHWM, RssAnon, RssFile, ...), in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def parse_time(text: str) -> float:
    # GRDB stores dates as "YYYY-MM-DD HH:MM:SS.SSS" in UTC.
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def main() -> int:
    if not UPDATER.exists():
        print(f"{UPDATER} is missing: run `make release` first", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="updater-footprint-"))
    try:
        (work / "jobs").mkdir()
        (work / "deploy").mkdir()
        for k in range(JOBS):
            name = f"job{k:03d}"
            (work / "incoming" / name).mkdir(parents=True)
            (work / "jobs" / f"{name}.toml").write_text(job_file(name))
        log = open(work / "daemon.log", "w")
        daemon = subprocess.Popen(
            [str(UPDATER), "run", "--jobs", str(work / "jobs"), "--state-dir", str(work / "state")],
            stdout=subprocess.DEVNULL, stderr=log, env={k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"})
        try:
            # Start-up: every job's first (idle) cycle.
            time.sleep(5)
            before, start = cpu_seconds(daemon.pid), time.monotonic()
            time.sleep(IDLE_SECONDS)
            used, elapsed = cpu_seconds(daemon.pid) - before, time.monotonic() - start
            memory = status_mb(daemon.pid)
            rss, hwm = memory["VmRSS"], memory["VmHWM"]
            share = 100 * used / elapsed
            print(f"idle, {JOBS} jobs: CPU {used:.2f} s in {elapsed:.0f} s = {share:.2f} % of one core "
                  f"(target <= 0.5 %: {'met' if share <= 0.5 else 'NOT met'})")
            anon, file = memory["RssAnon"], memory["RssFile"]
            print(f"idle, {JOBS} jobs: resident {rss:.1f} MB ({anon:.1f} MB private, {file:.1f} MB shared code "
                  f"and data pages of the binary and libraries), peak {hwm:.1f} MB "
                  f"(target <= 30 MB: {'met' if rss <= 30 else 'NOT met'})")

            # Burst: one batch per job, all at once (written aside, then renamed in).
            data = [batch(k) for k in range(JOBS)]
            for k in range(JOBS):
                (work / "incoming" / f"job{k:03d}" / ".b1.part").write_text(data[k])
            arrived = time.time()
            for k in range(JOBS):
                d = work / "incoming" / f"job{k:03d}"
                os.rename(d / ".b1.part", d / "b1.csv")
            db = work / "state" / "registry.sqlite"
            deadline = time.monotonic() + 900
            rows = []
            while time.monotonic() < deadline:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
                    rows = c.execute(
                        "SELECT job, state, started_at, finished_at FROM run WHERE finished_at IS NOT NULL").fetchall()
                if len(rows) >= JOBS:
                    break
                time.sleep(0.5)
            memory = status_mb(daemon.pid)
            rss, hwm = memory["VmRSS"], memory["VmHWM"]
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=120)
        states = {}
        for _, state, _, _ in rows:
            states[state] = states.get(state, 0) + 1
        delays = [parse_time(started) - arrived for _, _, started, _ in rows]
        last = max(parse_time(finished) for _, _, _, finished in rows) if rows else arrived
        print(f"burst, {JOBS} jobs × {ROWS} rows: {len(rows)} runs finished {states} in {last - arrived:.1f} s "
              f"= {60 * len(rows) / max(last - arrived, 1e-9):.0f} runs per minute; peak resident {hwm:.1f} MB")
        if delays:
            print("scheduling delay (batch arrival → run start): "
                  + ", ".join(f"p{int(q * 100)} {percentile(delays, q):.2f} s" for q in (0.5, 0.9, 0.99))
                  + f", max {max(delays):.2f} s")
        ok = len(rows) == JOBS and states.get("succeeded", 0) == JOBS
        print(f"every job's run completed and promoted: {'yes' if ok else 'NO'}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
