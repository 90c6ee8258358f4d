#!/usr/bin/env python3
"""Generate drifting, labelled data streams as directories of CSV batches.

Each stream NAME is written to ``OUT/NAME/``:

* ``batch-001.csv``, ``batch-002.csv``, ... -- one batch per file, in time
  order (the zero-padded names sort in time order).  Each file has a header
  row and ``--rows`` data rows: the feature columns, then the binary label
  column ``y`` written as ``0`` / ``1``.  Numbers carry at most 6 decimals.
* ``stream.json`` -- what the stream is: ``name``, ``description``, ``kind``
  (``"abrupt"``, ``"gradual"`` or ``"covariate"``), ``seed``,
  ``rows_per_batch``, ``batches``, ``features`` (in column order),
  ``categorical`` (the feature columns to read as text), ``label`` (``"y"``),
  ``positive_label`` (``"1"``), ``drift_batches`` (the 1-based index of the
  first batch of each new concept; empty for gradual and covariate streams)
  and ``params`` (the generator settings).

The streams (``--streams``, default all four):

``sea``
    River's ``synth.SEA`` with 10 % label noise; x1, x2, x3 numeric in
    [0, 10].  The variant (the threshold of x1 + x2) switches abruptly every
    12 batches, cycling 0, 1, 2, 3, 0, ...  Each concept segment is drawn from
    its own ``synth.SEA(variant=v, noise=0.1, seed=...)``, so a switch falls
    exactly on a batch boundary.

``agrawal``
    River's ``synth.Agrawal`` with ``perturbation=0.05``.  The classification
    function switches abruptly every 12 batches, going through
    ``AGRAWAL_FUNCTIONS`` = (6, 4, 8, 5, 2) and then repeating.  These five are
    distinct and each is learnable by a logistic regression on these features
    (about 0.97, 0.80, 0.97, 0.76 and 0.67 accuracy), and a model of one concept
    does badly on the next (0.48, 0.50, 0.58, 0.45), so every switch matters.
    Functions 7 and 9 are left out (1.6 % and 0.2 % positives) and 0, 1 and 3
    because a linear model learns nothing useful from them (accuracy at or
    below the majority share).  ``elevel``,
    ``car`` and ``zipcode`` are written as text (``e3``, ``car7``, ``z2``) and
    listed as categorical; ``salary``, ``commission``, ``age``, ``hvalue``,
    ``hyears`` and ``loan`` are numeric.  Each segment has its own seed.

``hyperplane``
    River's ``synth.Hyperplane(n_features=10, n_drift_features=10,
    mag_change=0.0015, sigma=0.1, noise_percentage=0.05)``: a hyperplane
    whose weights take a small random-walk step with every row, so a model
    that is never retrained decays steadily.  Over 60 batches of 2000 rows a
    logistic regression trained on batch 1 averages about 0.66-0.76
    (depending on the seed; 0.68 with the default seed), one retrained on the
    newest 8000 rows after every batch about 0.89-0.91.  Features x0..x9 in
    [0, 1].  River's generator flips a label when ``0.01 + u <=
    noise_percentage``, so the effective label noise is 4 %.

``covariate``
    Covariate shift only (numpy, not River).  The labelling rule never
    changes: ``y = 1`` when ``x1 - x2 + 0.5 * x3 > 0``, each label then
    flipped with probability 0.1.  x4 is irrelevant noise.  The inputs are
    Gaussian (standard deviation 1); every 12 batches their means jump to a new
    region (``COVARIATE_MEANS``) and stay there (no slow creep, so drift is
    only at the jumps; ``stream.json`` lists the jump batches as
    ``shift_batches``).  The moves run along the boundary (x1 and x2
    together) so each batch keeps both classes, and the true boundary is
    linear, so a logistic regression fitted on batch 1 stays near-optimal
    wherever the data goes, while feature-drift tests on x1, x2 and x4 (and
    x3 at some jumps) fire at every jump.  Accuracy is capped at about 0.9 by
    the label noise; ``--check`` prints a model trained on batch 1 against
    one fitted on each batch itself.

``--check`` prints, per stream written, the mean accuracy over batches
2..N of a logistic regression (scikit-learn, standardised numeric and
one-hot categorical features) trained on batch 1, and of one trained and
scored on each batch itself (in-sample, the best a linear model can do on
that batch).  It needs scikit-learn and pandas.

Everything is deterministic given ``--seed``: each segment's generator gets a
seed derived from ``--seed``, the stream and the segment index
(``numpy.random.SeedSequence``).

Usage (from the repository root)::

    python3 scripts/streams/make_streams.py --out /tmp/streams
    python3 scripts/streams/make_streams.py --out /tmp/s --seed 7 \\
        --batches 24 --rows 500 --streams sea,covariate

Needs ``river`` (0.26) and ``numpy``; no network.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from river.datasets import synth

SEGMENT_BATCHES = 12
"""Batches per concept (abrupt streams) and per input region (covariate)."""

SEA_VARIANTS = (0, 1, 2, 3)
SEA_NOISE = 0.1

AGRAWAL_FUNCTIONS = (6, 4, 8, 5, 2)
AGRAWAL_PERTURBATION = 0.05
AGRAWAL_NUMERIC = ("salary", "commission", "age", "hvalue", "hyears", "loan")
AGRAWAL_CATEGORICAL = ("elevel", "car", "zipcode")
AGRAWAL_PREFIX = {"elevel": "e", "car": "car", "zipcode": "z"}

HYPERPLANE_PARAMS = {
    "n_features": 10,
    "n_drift_features": 10,
    "mag_change": 0.0015,
    "sigma": 0.1,
    "noise_percentage": 0.05,
}

COVARIATE_WEIGHTS = (1.0, -1.0, 0.5, 0.0)
COVARIATE_NOISE = 0.1
COVARIATE_MEANS = (
    (0.0, 0.0, 0.0, 0.0),
    (1.0, 1.0, 0.0, 1.5),
    (-1.0, -1.0, 0.5, -1.0),
    (1.5, 1.5, -0.5, 0.0),
    (0.5, 0.5, 1.0, 2.0),
)
"""Mean of (x1, x2, x3, x4) in each covariate segment, cycled."""

STREAMS = ("sea", "agrawal", "hyperplane", "covariate")

Row = tuple[dict[str, object], int]


def segment_seed(seed: int, stream: str, segment: int) -> int:
    """Return a 31-bit seed for one segment of one stream, derived from ``seed``."""
    entropy = [seed, STREAMS.index(stream), segment]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] & 0x7FFFFFFF)


def format_value(value: object) -> str:
    """Format a cell: integers as they are, floats with at most 6 decimals."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        text = f"{float(value):.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


def segmented(
    n_rows: int, rows_per_segment: int, make_segment: Callable[[int], Iterator[Row]]
) -> Iterator[Row]:
    """Yield ``n_rows`` rows, switching to ``make_segment(k)`` every ``rows_per_segment``."""
    produced = 0
    for segment in itertools.count():
        take = min(rows_per_segment, n_rows - produced)
        if take <= 0:
            return
        yield from itertools.islice(make_segment(segment), take)
        produced += take


def sea_rows(seed: int, n_rows: int, rows_per_segment: int) -> Iterator[Row]:
    """SEA rows whose variant switches every ``rows_per_segment`` rows."""

    def segment(k: int) -> Iterator[Row]:
        variant = SEA_VARIANTS[k % len(SEA_VARIANTS)]
        gen = synth.SEA(variant=variant, noise=SEA_NOISE, seed=segment_seed(seed, "sea", k))
        for x, y in gen:
            yield {"x1": x[0], "x2": x[1], "x3": x[2]}, int(y)

    return segmented(n_rows, rows_per_segment, segment)


def agrawal_rows(seed: int, n_rows: int, rows_per_segment: int) -> Iterator[Row]:
    """Agrawal rows whose classification function switches every ``rows_per_segment`` rows."""

    def segment(k: int) -> Iterator[Row]:
        function = AGRAWAL_FUNCTIONS[k % len(AGRAWAL_FUNCTIONS)]
        gen = synth.Agrawal(
            classification_function=function,
            perturbation=AGRAWAL_PERTURBATION,
            seed=segment_seed(seed, "agrawal", k),
        )
        for x, y in gen:
            row: dict[str, object] = {}
            for name in gen.feature_names:
                if name in AGRAWAL_PREFIX:
                    row[name] = f"{AGRAWAL_PREFIX[name]}{int(x[name])}"
                elif name in ("age", "hyears"):
                    row[name] = int(x[name])
                else:
                    row[name] = float(x[name])
            yield row, int(y)

    return segmented(n_rows, rows_per_segment, segment)


def hyperplane_rows(seed: int, n_rows: int) -> Iterator[Row]:
    """Rows of one continuously rotating hyperplane."""
    gen = synth.Hyperplane(seed=segment_seed(seed, "hyperplane", 0), **HYPERPLANE_PARAMS)
    for x, y in itertools.islice(gen, n_rows):
        yield {f"x{i}": v for i, v in x.items()}, int(y)


def covariate_rows(seed: int, n_batches: int, rows: int) -> Iterator[Row]:
    """Rows with a fixed labelling rule and moving input means (see the module docstring)."""
    rng = np.random.default_rng(segment_seed(seed, "covariate", 0))
    weights = np.array(COVARIATE_WEIGHTS)
    for batch in range(n_batches):
        segment = batch // SEGMENT_BATCHES
        mean = np.array(COVARIATE_MEANS[segment % len(COVARIATE_MEANS)])
        x = rng.normal(loc=mean, scale=1.0, size=(rows, len(weights)))
        y = (x @ weights > 0).astype(int)
        flip = rng.random(rows) < COVARIATE_NOISE
        y = np.where(flip, 1 - y, y)
        for values, label in zip(x, y):
            yield {f"x{i + 1}": float(v) for i, v in enumerate(values)}, int(label)


def stream_spec(name: str, seed: int, n_batches: int, rows: int) -> tuple[dict, Iterator[Row]]:
    """Return the metadata (without the shared keys) and the row iterator of one stream."""
    n_rows = n_batches * rows
    per_segment = SEGMENT_BATCHES * rows
    drifts = [b for b in range(SEGMENT_BATCHES + 1, n_batches + 1, SEGMENT_BATCHES)]
    if name == "sea":
        variants = [SEA_VARIANTS[k % len(SEA_VARIANTS)] for k in range(len(drifts) + 1)]
        meta = {
            "description": (
                f"SEA (River synth.SEA, noise {SEA_NOISE}); the variant switches abruptly "
                f"every {SEGMENT_BATCHES} batches: {variants}"
            ),
            "kind": "abrupt",
            "features": ["x1", "x2", "x3"],
            "categorical": [],
            "drift_batches": drifts,
            "params": {"variants": variants, "noise": SEA_NOISE},
        }
        return meta, sea_rows(seed, n_rows, per_segment)
    if name == "agrawal":
        functions = [AGRAWAL_FUNCTIONS[k % len(AGRAWAL_FUNCTIONS)] for k in range(len(drifts) + 1)]
        meta = {
            "description": (
                f"Agrawal (River synth.Agrawal, perturbation {AGRAWAL_PERTURBATION}); the "
                f"classification function switches abruptly every {SEGMENT_BATCHES} batches: "
                f"{functions}; elevel, car, zipcode are categorical text"
            ),
            "kind": "abrupt",
            "features": ["salary", "commission", "age", "elevel", "car", "zipcode",
                         "hvalue", "hyears", "loan"],
            "categorical": list(AGRAWAL_CATEGORICAL),
            "drift_batches": drifts,
            "params": {"classification_functions": functions,
                       "perturbation": AGRAWAL_PERTURBATION},
        }
        return meta, agrawal_rows(seed, n_rows, per_segment)
    if name == "hyperplane":
        meta = {
            "description": (
                "Rotating hyperplane (River synth.Hyperplane): gradual concept drift on "
                "every row"
            ),
            "kind": "gradual",
            "features": [f"x{i}" for i in range(HYPERPLANE_PARAMS["n_features"])],
            "categorical": [],
            "drift_batches": [],
            "params": dict(HYPERPLANE_PARAMS),
        }
        return meta, hyperplane_rows(seed, n_rows)
    if name == "covariate":
        meta = {
            "description": (
                "Covariate shift only: fixed rule y = [x1 - x2 + 0.5 x3 > 0] with "
                f"{COVARIATE_NOISE:.0%} label flips; input means jump every "
                f"{SEGMENT_BATCHES} batches"
            ),
            "kind": "covariate",
            "features": ["x1", "x2", "x3", "x4"],
            "categorical": [],
            "drift_batches": [],
            "params": {
                "weights": list(COVARIATE_WEIGHTS),
                "label_noise": COVARIATE_NOISE,
                "segment_means": [list(m) for m in COVARIATE_MEANS],
            },
            "shift_batches": drifts,
        }
        return meta, covariate_rows(seed, n_batches, rows)
    raise ValueError(f"unknown stream {name!r} (known: {', '.join(STREAMS)})")


def write_stream(out: Path, name: str, seed: int, n_batches: int, rows: int) -> dict:
    """Write one stream's batches and ``stream.json``; return the metadata."""
    spec, row_iter = stream_spec(name, seed, n_batches, rows)
    meta = {
        "name": name,
        "description": spec["description"],
        "kind": spec["kind"],
        "seed": seed,
        "rows_per_batch": rows,
        "batches": n_batches,
        "features": spec["features"],
        "categorical": spec["categorical"],
        "label": "y",
        "positive_label": "1",
        "drift_batches": spec["drift_batches"],
        "params": spec["params"],
    }
    if "shift_batches" in spec:
        meta["shift_batches"] = spec["shift_batches"]
    directory = out / name
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("batch-*.csv"):
        stale.unlink()
    width = max(3, len(str(n_batches)))
    header = meta["features"] + ["y"]
    for batch in range(1, n_batches + 1):
        path = directory / f"batch-{batch:0{width}d}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            for x, y in itertools.islice(row_iter, rows):
                writer.writerow([format_value(x[c]) for c in meta["features"]] + [str(y)])
    (directory / "stream.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def check_stream(directory: Path, meta: dict) -> tuple[float, float]:
    """Mean accuracy over batches 2..N of a model trained on batch 1 and of per-batch models.

    The model is a scikit-learn logistic regression (lbfgs, C = 1) on
    standardised numeric and one-hot categorical features.  The per-batch
    model is trained and scored on the same batch (in-sample).
    """
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features, categorical = meta["features"], meta["categorical"]
    numeric = [c for c in features if c not in categorical]

    def model() -> Pipeline:
        parts = [("num", StandardScaler(), numeric)]
        if categorical:
            parts.append(("cat", OneHotEncoder(handle_unknown="ignore"), categorical))
        return Pipeline([("prep", ColumnTransformer(parts)),
                         ("lr", LogisticRegression(C=1.0, max_iter=1000))])

    dtypes = {c: str for c in categorical}
    frames = [pd.read_csv(p, dtype=dtypes) for p in sorted(directory.glob("batch-*.csv"))]
    first = model().fit(frames[0][features], frames[0]["y"])
    never, own = [], []
    for frame in frames[1:]:
        never.append(first.score(frame[features], frame["y"]))
        own.append(model().fit(frame[features], frame["y"]).score(frame[features], frame["y"]))
    return float(np.mean(never)), float(np.mean(own))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="Write drifting labelled streams (River synthetic generators) as CSV batches.",
    )
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--seed", type=int, default=42, help="base seed (default: 42)")
    parser.add_argument("--batches", type=int, default=60, help="batches per stream (default: 60)")
    parser.add_argument("--rows", type=int, default=2000, help="rows per batch (default: 2000)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="print logistic-regression sanity numbers per stream (needs scikit-learn)",
    )
    parser.add_argument(
        "--streams",
        default=",".join(STREAMS),
        help=f"comma-separated streams to write (default: {','.join(STREAMS)})",
    )
    args = parser.parse_args(argv)
    args.streams = [s.strip() for s in args.streams.split(",") if s.strip()]
    unknown = [s for s in args.streams if s not in STREAMS]
    if unknown:
        parser.error(f"unknown stream(s) {', '.join(unknown)} (known: {', '.join(STREAMS)})")
    if args.batches < 1 or args.rows < 1:
        parser.error("--batches and --rows must be at least 1")
    if args.seed < 0:
        parser.error("--seed must be at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Write the requested streams and print one summary line per stream."""
    args = parse_args(argv)
    for name in args.streams:
        meta = write_stream(args.out, name, args.seed, args.batches, args.rows)
        drifts = ",".join(map(str, meta["drift_batches"])) or "-"
        print(
            f"{args.out / name}: {meta['batches']} batches x {meta['rows_per_batch']} rows, "
            f"{meta['kind']}, drift batches {drifts}"
        )
        if args.check:
            never, own = check_stream(args.out / name, meta)
            print(f"  check: trained on batch 1 {never:.4f}, trained on each batch itself "
                  f"{own:.4f} (mean accuracy over batches 2..{meta['batches']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
