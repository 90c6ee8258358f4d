#!/usr/bin/env python3
"""What late labels cost, and what estimation buys: the goals of docs/labels.md, measured by
`updater backtest --label-delay K`.

1. Estimation on a covariate-shift stream. 40 batches of 2000 rows whose inputs are River's
   `synth.Hyperplane` rows (10 features in [0, 1], the hyperplane fixed) and whose label is 1 with
   probability 1 / (1 + exp(-d / 0.04)), d the row's distance to the hyperplane. Every 10 batches
   the inputs move toward the hyperplane (rows are kept with a probability falling with their
   distance from it), so that any model is less sure, and less often right, after a move: the rule
   stays, only the inputs move. Labels come `--delay` batches
   late (3). Measured on the job's replay with late labels:
   - the mean absolute error of the estimated accuracy (CBPE, before the labels) against the
     realized accuracy of the same model on the same batch (goal: at most 0.02);
   - for each move after which production's realized accuracy fell by more than 0.02, the batch at
     which `performance.estimated_drop` was announced, against the batch at which the labels
     would have shown the fall (the batch of the fall plus the delay; goal: at least 2 earlier).
2. The freshness goals with late labels, on the abrupt streams of docs/cycle.md (SEA, Agrawal):
   the job's mean accuracy with labels `--delay` batches late next to its figure with labels at
   once. No policy can match the latter: a change's own labels come `--delay` batches after it, so
   the change's batch and the `--delay` batches after it are served by a model of the old concept
   whatever the policy does. The goal is judged against that floor (the at-once replay with those
   batches served at the old model's level): the late replay within 0.01 of it.

    python3 scripts/streams/late_labels.py --bin .build/release/updater [--seed 42] [--delay 3]

Needs numpy and river (pip install river numpy).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from freshness_table import job_file  # the job file of the freshness table (issue 12's settings)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def covariate_stream(out, seed, batches=40, rows=2000, every=10):
    """Hyperplane rows, kept with a probability that moves toward the boundary every `every` batches."""
    from river.datasets import synth

    os.makedirs(out, exist_ok=True)
    hyperplane = synth.Hyperplane(seed=seed, n_features=10, n_drift_features=0, mag_change=0.0, noise_percentage=0.05, sigma=0.0)
    gen = iter(hyperplane)
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(10)]
    pool = []
    for b in range(batches):
        # Rows are kept with a probability falling with their distance to the hyperplane
        # (y = 1 where w·x ≥ Σw / 2, River's weights): all of them at first, then ever closer.
        width = [None, 0.12, 0.06, 0.03][min(b // every, 3)]
        kept = []
        while len(kept) < rows:
            if not pool:
                pool = [next(gen) for _ in range(5000)]
            x, y = pool.pop()
            v = np.array([x[i] for i in range(10)])
            w = np.array(hyperplane._weights)
            d = (w @ v - w.sum() / 2) / np.linalg.norm(w)
            if width is None or rng.random() < np.exp(-((d / width) ** 2) / 2):
                # The label: 1 with probability 1 / (1 + exp(-d / 0.04)), so that rows near the
                # hyperplane are uncertain for any model (River's own labels are flipped at random
                # with 5 %, the same everywhere: a shift toward the boundary would cost nothing).
                kept.append((v, int(rng.random() < 1 / (1 + np.exp(-d / 0.04)))))
        with open(os.path.join(out, f"batch-{b + 1:03d}.csv"), "w") as f:
            f.write(",".join(names) + ",y\n")
            for v, y in kept:
                f.write(",".join(f"{t:.6f}" for t in v) + f",{y}\n")


def backtest(binary, job, batches, delay, oracle=None):
    cmd = [binary, "backtest", "--job-file", job, "--batches", batches, "--label-delay", str(delay), "--json"]
    if oracle:
        cmd += ["--oracle", ",".join(map(str, oracle))]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["replays"]


def estimation(binary, tmp, seed, delay):
    streams = os.path.join(tmp, "cov")
    covariate_stream(streams, seed)
    job = job_file(os.path.join(tmp, "jobs"), "cov", [])
    replays = backtest(binary, job, streams, delay)
    late = next(r for r in replays if "late" in r["label"])
    errors, rows = [], []
    for b in late["batches"]:
        est = (b.get("estimated") or {}).get("accuracy")
        real = (b.get("metrics") or {}).get("accuracy")
        if est is not None and real is not None:
            errors.append(abs(est - real))
            rows.append((b["batch"], b["production_version"], real, est, b.get("estimated_drop")))
    mae = float(np.mean(errors)) if errors else float("nan")
    print(f"covariate shift, labels {delay} batches late: {len(errors)} batches estimated; "
          f"MAE of estimated accuracy against realized {mae:.4f} (goal ≤ 0.02): {'met' if mae <= 0.02 else 'NOT MET'}")
    # Falls: production's realized accuracy more than 0.02 below its level on the batches before.
    announced = [b for b, _, _, _, drop in rows if drop]
    by_batch = {b: real for b, _, real, _, _ in rows}
    leads = []
    for move in range(11, 41, 10):
        before = [by_batch[b] for b in range(move - 3, move) if b in by_batch]
        after = [b for b in range(move, move + 10) if b in by_batch and before and by_batch[b] < np.mean(before) - 0.02]
        if not after:
            continue
        fall = after[0]
        first = next((b for b in announced if b >= move), None)
        lead = None if first is None else fall + delay - first
        leads.append(lead)
        print(f"  move at batch {move}: realized fell at batch {fall} (labels show it at {fall + delay}); "
              f"estimated drop announced at {first}: {lead if lead is not None else '-'} batches earlier (goal ≥ 2)")
    for b, v, real, est, drop in rows:
        print(f"    batch {b:3d} v{v}: realized {real:.4f} estimated {est:.4f}{'  DROP' if drop else ''}")
    return mae, leads


def freshness(binary, tmp, seed, delay):
    streams = os.path.join(tmp, "streams")
    subprocess.run([sys.executable, os.path.join(HERE, "make_streams.py"), "--out", streams, "--seed", str(seed), "--streams", "sea,agrawal"],
                   check=True, stdout=subprocess.DEVNULL)
    for name in ["sea", "agrawal"]:
        meta = json.load(open(os.path.join(streams, name, "stream.json")))
        job = job_file(os.path.join(tmp, "jobs"), name, meta.get("categorical", []))
        replays = backtest(binary, job, os.path.join(streams, name), delay, oracle=meta["drift_batches"])
        at_once = next(r for r in replays if r["policy"] == "job" and "late" not in r["label"])
        late = next(r for r in replays if "late" in r["label"])
        oracle = next(r for r in replays if r["policy"] == "oracle")
        # Over the same batches: those both scored (the late replay has no model for its first ones).
        scored = {b["batch"]: b["metrics"]["accuracy"] for b in late["batches"] if b.get("metrics")}
        once = [b["metrics"]["accuracy"] for b in at_once["batches"] if b.get("metrics") and b["batch"] in scored]
        a, l = float(np.mean(once)), float(np.mean(list(scored.values())))
        # What no policy can avoid: the change's own labels arrive with the batch `delay` after it,
        # so the change's batch and the `delay` batches after it are served by a model of the old
        # concept (with labels at once, the change's batch alone). The delay's own cost: the
        # at-once replay with the `delay` batches after each change served at the old model's
        # level on the change's batch.
        acc = {b["batch"]: b["metrics"]["accuracy"] for b in at_once["batches"] if b.get("metrics")}
        bound = dict((b, v) for b, v in acc.items() if b in scored)
        for change in meta["drift_batches"]:
            for j in range(1, delay + 1):
                if change + j in bound and change in acc:
                    bound[change + j] = min(bound[change + j], acc[change])
        floor = float(np.mean(list(bound.values())))
        print(f"{name}: labels at once {a:.4f}, {delay} batches late {l:.4f} (difference {a - l:.4f}); the delay itself "
              f"allows at most {floor:.4f}, and late is {floor - l:+.4f} below that (goal ≤ 0.01: "
              f"{'met' if floor - l <= 0.01 else 'NOT MET'}); oracle with labels at once {oracle['means']['accuracy']:.4f}; "
              f"training rows {at_once['training_rows']} and {late['training_rows']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release/updater"))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--delay", type=int, default=3)
    ap.add_argument("--skip-freshness", action="store_true", help="only the estimation goal")
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"{args.bin}: no updater binary (make release)")
    with tempfile.TemporaryDirectory(prefix="updater-late-labels-") as tmp:
        estimation(args.bin, tmp, args.seed, args.delay)
        if not args.skip_freshness:
            freshness(args.bin, tmp, args.seed, args.delay)


if __name__ == "__main__":
    main()
