#!/usr/bin/env python3
"""Benchmark: CSV ingest into columns, updater's CSV reader against pandas.read_csv (C engine) on
the same file in the same run.

Target (issue 18, "Read data at memory speed"): updater's ingest at least 2x as fast as pandas'
C engine, i.e. pandas time / updater time >= 2.

Files (generated once into .build-bench/):
- ingest_1m.csv: 1,000,000 rows x 20 columns, about 180 MB: 16 numeric columns x0..x15 (numbers
  with 5 or 6 decimals at several magnitudes, about 1% of each left empty as a missing value),
  3 categorical string columns c1..c3 (3, 5 and 12 levels) and a 0/1 label y.
- train_1m.csv: training_bench.py's 1,000,000 rows x 20 numeric features + y (all numeric, 5
  decimals, nothing missing); made by training_bench.py if it is not there yet.

updater's time is the "read X.XXs" figure that `updater train --input F --label y [--categorical
c1,c2,c3] --output DIR` prints: it times CSVReader.read alone (the file read and parsed into
columns), not the training that follows; it has a resolution of 1 ms (10 ms until 5 December,
a 5 % step on a 0.11 s read). pandas' time is
`pandas.read_csv(F, engine="c")` timed in this process. Each figure is the median of 3 runs, the
file in the page cache for both (it is read once before timing).

Usage: python3 Benchmarks/ingest_bench.py [--repeat K]   (make bench runs it)
Needs: numpy, pandas (pip install numpy pandas), a release build of updater (make
release; the UPDATER environment variable overrides its path).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Some machines here set OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for old OpenBLAS builds; they slow a
# current numpy, so the peer runs without them (this process only; tests and CI keep them).
os.environ.pop("OPENBLAS_CORETYPE", None)
os.environ.pop("OPENBLAS_L2_SIZE", None)

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".build-bench"
UPDATER = Path(os.environ.get("UPDATER", ROOT / ".build" / "release" / "updater"))
ROWS, NUMERIC = 1_000_000, 16
CATEGORICAL = {"c1": ["basic", "standard", "premium"],
               "c2": ["web", "mobile", "store", "partner", "phone"],
               "c3": [f"region-{i:02d}" for i in range(12)]}


def generate(path: Path, rows: int = ROWS) -> Path:
    if path.exists():
        return path
    import pandas as pd

    DATA.mkdir(exist_ok=True)
    rng = np.random.default_rng(18)
    cols = {}
    for k in range(NUMERIC):
        scale = (1.0, 10.0, 100.0, 1000.0)[k % 4]          # magnitudes from 1e0 to 1e3
        x = rng.normal(k - 8, 1 + k / 8, rows) * scale / 10
        x[rng.random(rows) < 0.01] = np.nan                 # about 1% missing, written as ""
        cols[f"x{k}"] = np.round(x, 5 + (k % 2))            # 5 decimals on even columns, 6 on odd
    for name, levels in CATEGORICAL.items():
        cols[name] = rng.choice(levels, rows)
    z = np.nan_to_num(cols["x0"] - (-8.0)) * 0.8 - np.nan_to_num(cols["x5"] + 3.0) * 0.05 \
        + (cols["c1"] == "premium") * 0.5 - 0.2
    cols["y"] = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(int)
    tmp = path.with_suffix(".tmp")
    pd.DataFrame(cols).to_csv(tmp, index=False, na_rep="")
    tmp.rename(path)
    return path


def updater_read(path: Path, categorical: list[str], out: Path) -> float:
    """The "read X.XXs" figure of one `updater train` run: CSVReader.read alone."""
    cmd = [str(UPDATER), "train", "--input", str(path), "--label", "y", "--output", str(out)]
    if categorical:
        cmd += ["--categorical", ",".join(categorical)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"updater train failed: {p.stderr}")
    m = re.search(r"read ([0-9.]+)s", p.stdout)
    if not m:
        sys.exit(f"no 'read X.XXs' figure in updater train's output:\n{p.stdout}")
    return float(m.group(1))


def pandas_read(path: Path) -> float:
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_csv(path, engine="c")
    elapsed = time.perf_counter() - t0
    del df
    return elapsed


def bench(label: str, path: Path, categorical: list[str], repeat: int) -> None:
    with open(path, "rb") as f:                             # into the page cache for both sides
        while f.read(1 << 24):
            pass
    with tempfile.TemporaryDirectory() as out:
        ours = statistics.median(updater_read(path, categorical, Path(out)) for _ in range(repeat))
    peer = statistics.median(pandas_read(path) for _ in range(repeat))
    ratio = peer / ours if ours > 0 else float("inf")
    print(f"{label}: {path.name}, {path.stat().st_size / 1e6:.0f} MB")
    print(f"  updater CSVReader.read (train's 'read'): {ours:6.3f} s   median of {repeat}")
    print(f"  pandas read_csv (C engine, peer):        {peer:6.3f} s   median of {repeat}")
    print(f"  ratio pandas / updater: {ratio:.2f}x   [target >= 2x: {'met' if ratio >= 2 else 'NOT met'}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not UPDATER.exists():
        sys.exit(f"{UPDATER} is missing: run `make release` first (or set UPDATER)")
    mixed = generate(DATA / "ingest_1m.csv")
    bench("1M x (16 numeric with ~1% missing + 3 categorical + y)", mixed, list(CATEGORICAL), args.repeat)
    numeric = DATA / "train_1m.csv"
    if not numeric.exists():
        subprocess.run([sys.executable, str(Path(__file__).with_name("training_bench.py")), "--generate-only"],
                       check=True)
    bench("1M x (20 numeric + y), training_bench's file", numeric, [], args.repeat)


if __name__ == "__main__":
    main()
