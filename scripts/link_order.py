#!/usr/bin/env python3
"""Writes scripts/link-order.txt: the functions a release build of updater runs, for the linker to
place side by side (lld --symbol-ordering-file; `make release` passes it).

Why: the binary's code is 30 MB, and what a daemon or a command runs is about 2 MB of it, spread
over all of it. The kernel maps code 64 KB at a time around each page a process touches, so an idle
daemon kept 19 MB of code resident, and every command paid for hundreds of page faults at start.
With the functions that run placed together, the same work touches a few MB (docs/performance.md).

How: a release binary (`make release`) runs under valgrind's callgrind, which names every function
executed:
1. the daemon (`updater run`) on two copies of the bundled example job: start-up, an idle cycle,
   then two batches each, triggered (train, gate, promote, drift, incremental update), then SIGTERM;
2. the commands people run by hand: validate, status, versions, runs, drift, train, predict.
The daemon's functions come first, so that a long-running process keeps the fewest pages; then the
commands'. Only names the binary defines are kept. A name that later disappears from the code is
ignored by the linker and a new function goes where it would have gone anyway, so a stale list costs
only some of the gain: run this again after large changes (needs valgrind: apt-get install valgrind).

Usage: python3 scripts/link_order.py [--binary .build/release/updater]
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "scripts" / "link-order.txt"
EXAMPLE = ROOT / "Jobs" / "churn.toml"
BATCHES = sorted((ROOT / "Jobs" / "churn" / "data").glob("batch-0[12]-*.csv"))


def defined_functions(binary: Path) -> set[str]:
    out = subprocess.run(["nm", "--defined-only", str(binary)], capture_output=True, text=True, check=True).stdout
    return {parts[2] for parts in (line.split() for line in out.splitlines())
            if len(parts) == 3 and parts[1] in "tTwW"}


def executed(profile: Path) -> list[str]:
    """Function names of a callgrind profile (written with --compress-strings=no), first seen first."""
    seen: dict[str, None] = {}
    for line in profile.read_text(errors="replace").splitlines():
        if line.startswith(("fn=", "cfn=")):
            seen.setdefault(line.split("=", 1)[1].strip(), None)
    return list(seen)


def under_callgrind(binary: Path, profile: Path) -> list[str]:
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}", "--dump-instr=no",
            "--compress-strings=no", "--demangle=no", "--quiet", str(binary)]


def wait_for(predicate, what: str, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    sys.exit(f"link_order: timed out waiting for {what}")


def finished_runs(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
            return c.execute("SELECT count(*) FROM run WHERE finished_at IS NOT NULL").fetchone()[0]
    except sqlite3.Error:
        return 0


def daemon_workload(binary: Path, work: Path) -> list[str]:
    jobs, state = work / "jobs", work / "state"
    jobs.mkdir()
    names = ["churn", "churn_b"]
    for name in names:
        text = EXAMPLE.read_text().replace('"churn/', f'"{name}/').replace('"2s"', '"0s"')
        (jobs / f"{name}.toml").write_text(text)
        (jobs / name / "incoming").mkdir(parents=True)
    profile = work / "daemon.callgrind"
    daemon = subprocess.Popen(under_callgrind(binary, profile) + ["run", "--jobs", str(jobs), "--state-dir", str(state)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (state / "registry.sqlite").exists(), "the daemon's registry")
        for k, batch in enumerate(BATCHES, start=1):
            for name in names:
                part = jobs / name / "incoming" / f".{batch.name}.part"
                shutil.copy(batch, part)
                os.rename(part, part.with_name(batch.name))
                subprocess.run([str(binary), "trigger", name, "--jobs", str(jobs), "--state-dir", str(state)],
                               stdout=subprocess.DEVNULL, check=True)
            wait_for(lambda: finished_runs(state / "registry.sqlite") >= k * len(names), f"batch {k}'s runs")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=600)
    return executed(profile)


def command_workload(binary: Path, work: Path) -> list[str]:
    first, second = (str(b) for b in BATCHES)
    model = work / "model"
    commands = [
        ["validate", str(EXAMPLE)],
        ["status", "--jobs", str(work / "jobs"), "--state-dir", str(work / "state")],
        ["versions", "churn", "--jobs", str(work / "jobs"), "--state-dir", str(work / "state")],
        ["runs", "churn", "--jobs", str(work / "jobs"), "--state-dir", str(work / "state")],
        ["drift", "--reference", first, "--current", second, "--categorical", "plan,region", "--label", "churned",
         "--exclude", "customer_id", "--fail-on", "never"],
        ["train", "--input", first, "--label", "churned", "--categorical", "plan,region", "--exclude", "customer_id",
         "--output", str(model)],
        ["predict", str(model / "model.updater"), "--input", second],
    ]
    names: list[str] = []
    for k, command in enumerate(commands):
        profile = work / f"command{k}.callgrind"
        subprocess.run(under_callgrind(binary, profile) + command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        names += executed(profile)
    return names


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", type=Path, default=ROOT / ".build" / "release" / "updater")
    args = ap.parse_args()
    if not args.binary.exists():
        sys.exit(f"link_order: {args.binary} is missing: run `make release` first")
    if shutil.which("valgrind") is None:
        sys.exit("link_order: needs valgrind (apt-get install valgrind)")
    work = Path(tempfile.mkdtemp(prefix="updater-link-order-"))
    try:
        # valgrind 3.19 (Debian 12) cannot read the DWARF 5 the toolchain writes: profile a copy
        # without debug information (the symbol table stays).
        binary = work / "updater"
        subprocess.run(["strip", "--strip-debug", "-o", str(binary), str(args.binary)], check=True)
        defined = defined_functions(binary)
        order: dict[str, None] = {}
        for name in daemon_workload(binary, work) + command_workload(binary, work):
            if name in defined:
                order.setdefault(name, None)
        header = ("# Generated by scripts/link_order.py: the functions updater runs, daemon first, for lld's\n"
                  "# --symbol-ordering-file (`make release`). Regenerate after large changes.\n")
        OUT.write_text(header + "".join(f"{name}\n" for name in order))
        print(f"{OUT.relative_to(ROOT)}: {len(order)} functions")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
