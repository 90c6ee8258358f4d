#!/usr/bin/env python3
"""Measure how fresh updater keeps a model on drifting streams, through the real binary.

For each stream directory (made by ``make_streams.py``: ``batch-*.csv`` plus
``stream.json``) this script

1. makes a temporary workspace with ``jobs/NAME.toml`` (logistic regression,
   ``window_rows = 8000``, one gate rule ``accuracy`` ``change = -0.01``,
   everything else default; ``--job-extra FILE`` appends TOML text),
   ``incoming/``, ``deploy/`` and ``state/``;
2. feeds the batches in name order.  Before a batch is delivered, if a model
   is in production, the batch is scored with ``updater predict NAME`` and
   predicted positive where ``score >= threshold`` (the production version's
   ``decision_threshold`` from ``updater versions --json`` if recorded, else a
   numeric ``gate.threshold`` of the job file, else 0.5): that is the
   prequential accuracy of the batch.  Batches that arrive while no model is
   in production are not scored.  The batch is then copied into ``incoming/``
   with its modification time an hour in the past (so ``data.settle_time``
   never delays it) and ``updater run --once`` runs;
3. reads ``updater versions NAME --json`` at the end: compute is the sum of
   ``training_rows`` over every version (promoted or rejected), and the
   numbers of versions, promoted (``status == "passed"``) and rejected
   versions.

The same batches are scored prequentially (batch i by a model trained on
batches before i) by scikit-learn baselines that approximate updater's
built-in model: ``LogisticRegression(solver="lbfgs", C=1.0)`` on standardised
numeric features and one-hot categoricals (``handle_unknown="ignore"``):

``never``
    trained on batch 1 only.
``every``
    retrained from scratch after every batch on the newest 8000 rows.
``oracle`` (abrupt streams only)
    knows ``drift_batches``: trained on batch 1; after each drift batch d it
    retrains after batches d, d+1, d+2 and d+3 on the rows from batch d on
    (the newest 8000 at most), and otherwise keeps its model.

Baseline means are over batches 2..N (the batches a model trained on batch 1
can score); updater's mean is over the batches it scored (the same set when
batch 1 produced a model).  Compute of a baseline is the sum of the rows of
each of its trainings, including the one after the last batch (updater also
trains on it); note that updater's ``training_rows`` exclude its held-out
evaluation rows (``data.holdout``, 20 % by default), the baselines have none.

Goals (printed as PASS/FAIL):

* abrupt (``sea``, ``agrawal``): updater >= oracle - 0.003 and rows <= 25 % of
  every's;
* gradual (``hyperplane``): updater >= every - 0.005 and rows <= 35 %;
* covariate: updater >= never - 0.002, rows <= 5 %, and no rejected candidate
  in a shift segment after that segment's first candidate (segments start at
  batch 1 and at each of ``stream.json``'s ``shift_batches``).

Usage (from the repository root)::

    python3 scripts/streams/make_streams.py --out /tmp/streams
    python3 scripts/streams/freshness_run_once.py --streams /tmp/streams \\
        --bin /tmp/updater-base/updater --json /tmp/freshness.json
    python3 scripts/streams/freshness_run_once.py --streams /tmp/streams \\
        --only sea --job-extra extra.toml --keep

The binary is ``--bin``, else ``$UPDATER_BIN``, else ``updater`` on PATH.
Needs ``numpy``, ``pandas`` and ``scikit-learn``; no network.  Exits 0 when
every stream ran (whatever the goals say), 1 when a stream could not be run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

WINDOW_ROWS = 8000
ORACLE_RETRAINS = 4
PAST_SECONDS = 3600

JOB_TEMPLATE = """\
# Written by scripts/streams/freshness_run_once.py for stream {name}.
[data]
incoming = "../incoming"
label = "{label}"
positive_label = "{positive}"
{categorical_line}
[training]
model = "logistic_regression"
window_rows = {window}

[[gate.rules]]
metric = "accuracy"
change = -0.01

[deploy]
path = "../deploy/{name}.model"
"""

GOALS = {
    # kind: (reference policy, allowed accuracy shortfall, max share of every's rows)
    "abrupt": ("oracle", 0.003, 0.25),
    "gradual": ("every", 0.005, 0.35),
    "covariate": ("never", 0.002, 0.05),
}


class BinaryError(RuntimeError):
    """The updater binary failed, timed out or printed something unreadable."""


@dataclass
class Stream:
    """One stream directory: its metadata and its batches in time order."""

    name: str
    directory: Path
    meta: dict
    batch_paths: list[Path]
    frames: list[pd.DataFrame]

    @property
    def features(self) -> list[str]:
        return list(self.meta["features"])

    @property
    def categorical(self) -> list[str]:
        return list(self.meta.get("categorical", []))

    @property
    def label(self) -> str:
        return str(self.meta.get("label", "y"))

    @property
    def positive(self) -> str:
        return str(self.meta.get("positive_label", "1"))

    @property
    def kind(self) -> str:
        return str(self.meta.get("kind", ""))

    def labels(self, i: int) -> np.ndarray:
        """Batch ``i`` (0-based) labels as booleans (True = positive label)."""
        return (self.frames[i][self.label].astype(str) == self.positive).to_numpy()


@dataclass
class BatchRecord:
    """What happened around one batch of the updater run."""

    batch: int
    file: str
    production_before: int | None
    threshold: float | None
    accuracy: float | None
    outcome: str
    run: int | None
    seconds: float


@dataclass
class PolicyResult:
    """A policy's prequential accuracy and training compute on one stream."""

    policy: str
    mean_accuracy: float | None
    scored_batches: int
    training_rows: int
    per_batch: list[float | None] = field(default_factory=list)


def load_stream(directory: Path) -> Stream:
    """Read ``stream.json`` and every ``batch-*.csv`` of a stream directory."""
    meta = json.loads((directory / "stream.json").read_text())
    paths = sorted(directory.glob("batch-*.csv"))
    if not paths:
        raise ValueError(f"{directory}: no batch-*.csv files")
    dtypes = {c: str for c in meta.get("categorical", [])}
    dtypes[meta.get("label", "y")] = str
    frames = [pd.read_csv(p, dtype=dtypes, keep_default_na=False) for p in paths]
    return Stream(meta.get("name", directory.name), directory, meta, paths, frames)


# --------------------------------------------------------------------------- updater


class Updater:
    """Runs the updater binary against one workspace."""

    def __init__(self, binary: str, workspace: Path, timeout: float) -> None:
        self.binary = binary
        self.jobs = workspace / "jobs"
        self.state = workspace / "state"
        self.timeout = timeout

    def call(self, *args: str) -> subprocess.CompletedProcess:
        """Run ``updater ARGS --jobs … --state-dir …``; raise BinaryError on failure."""
        cmd = [self.binary, *args, "--jobs", str(self.jobs), "--state-dir", str(self.state)]
        env = {k: v for k, v in os.environ.items()
               if k not in ("UPDATER_STATE_DIR", "STATE_DIRECTORY", "INVOCATION_ID",
                            "NOTIFY_SOCKET")}
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=self.timeout, env=env, check=False)
        except subprocess.TimeoutExpired as exc:
            raise BinaryError(f"timed out after {self.timeout:g}s: {' '.join(cmd)}\n"
                              f"{_text(exc.stderr)}") from exc
        except OSError as exc:
            raise BinaryError(f"cannot run {cmd[0]}: {exc}") from exc
        if proc.returncode != 0:
            raise BinaryError(f"exit {proc.returncode}: {' '.join(cmd)}\n"
                              f"stdout:\n{proc.stdout}stderr:\n{proc.stderr}")
        return proc

    def versions(self, job: str) -> dict:
        """``updater versions JOB --json``, parsed."""
        proc = self.call("versions", job, "--json")
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise BinaryError(f"versions --json printed no JSON: {proc.stdout[:500]}") from exc

    def predict(self, job: str, batch: Path, output: Path) -> np.ndarray:
        """Score ``batch`` with the production model; return the ``score`` column."""
        self.call("predict", job, "--input", str(batch), "--output", str(output))
        scores = pd.read_csv(output)
        if "score" not in scores.columns:
            raise BinaryError(f"predict wrote no score column (columns: {list(scores.columns)})")
        return scores["score"].to_numpy(dtype=float)


def _text(value: object) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def write_job(stream: Stream, workspace: Path, extra: str | None) -> Path:
    """Create the workspace's directories and ``jobs/NAME.toml``; return the job file."""
    for sub in ("jobs", "incoming", "deploy", "state"):
        (workspace / sub).mkdir(parents=True, exist_ok=True)
    categorical = stream.categorical
    line = f"categorical = {json.dumps(categorical)}\n" if categorical else ""
    text = JOB_TEMPLATE.format(name=stream.name, label=stream.label,
                               positive=stream.positive, categorical_line=line,
                               window=WINDOW_ROWS)
    if extra:
        text += "\n# --job-extra\n" + extra.rstrip("\n") + "\n"
    job = workspace / "jobs" / f"{stream.name}.toml"
    job.write_text(text)
    return job


def job_threshold(job_file: Path) -> float:
    """The job file's fixed ``gate.threshold`` if it is a number, else 0.5."""
    try:
        value = tomllib.loads(job_file.read_text()).get("gate", {}).get("threshold", 0.5)
    except tomllib.TOMLDecodeError:
        return 0.5
    return float(value) if isinstance(value, (int, float)) else 0.5


def production(versions: dict) -> tuple[int | None, float | None]:
    """(production version, its recorded decision threshold or None) from versions JSON."""
    number = versions.get("production_version")
    if number is None:
        return None, None
    for version in versions.get("versions", []):
        if version.get("version") == number:
            threshold = version.get("decision_threshold")
            return number, (float(threshold) if threshold is not None else None)
    return number, None


RUN_RE = re.compile(r"\(run (\d+)\)")


def run_updater(stream: Stream, binary: str, workspace: Path, extra: str | None,
                timeout: float, verbose: bool) -> tuple[list[BatchRecord], dict]:
    """Feed the stream's batches to updater one ``run --once`` at a time."""
    job_file = write_job(stream, workspace, extra)
    updater = Updater(binary, workspace, timeout)
    fallback_threshold = job_threshold(job_file)
    incoming = workspace / "incoming"
    deploy = workspace / "deploy" / f"{stream.name}.model"
    scores_path = workspace / "scores.csv"
    log = (workspace / "run-once.log").open("w")
    versions: dict = {"job": stream.name, "production_version": None, "versions": []}
    records: list[BatchRecord] = []
    try:
        for i, path in enumerate(stream.batch_paths):
            start = time.monotonic()
            prod, threshold = production(versions)
            accuracy = None
            if prod is not None and deploy.exists():
                threshold = fallback_threshold if threshold is None else threshold
                scores = updater.predict(stream.name, path, scores_path)
                truth = stream.labels(i)
                if len(scores) != len(truth):
                    raise BinaryError(f"predict returned {len(scores)} scores for "
                                      f"{len(truth)} rows of {path}")
                accuracy = float(np.mean((scores >= threshold) == truth))
            else:
                threshold = None
            target = incoming / path.name
            shutil.copyfile(path, target)
            past = time.time() - PAST_SECONDS
            os.utime(target, (past, past))
            proc = updater.call("run", "--once")
            log.write(f"== batch {i + 1} {path.name}\n{proc.stdout}{proc.stderr}")
            outcome = " | ".join(line.strip() for line in proc.stdout.splitlines()
                                 if line.strip()) or "(no output)"
            match = RUN_RE.search(outcome)
            versions = updater.versions(stream.name)
            record = BatchRecord(i + 1, path.name, prod, threshold, accuracy, outcome,
                                 int(match.group(1)) if match else None,
                                 time.monotonic() - start)
            records.append(record)
            if verbose:
                acc = "-" if accuracy is None else f"{accuracy:.4f}"
                print(f"  {stream.name} {i + 1:3d} prod v{prod or '-'} acc {acc}  {outcome}",
                      flush=True)
    finally:
        log.close()
    return records, versions


def updater_result(records: list[BatchRecord], versions: dict) -> PolicyResult:
    """Summarise the updater run as a PolicyResult."""
    accs = [r.accuracy for r in records]
    scored = [a for a in accs if a is not None]
    rows = sum(int(v.get("training_rows") or 0) for v in versions.get("versions", []))
    return PolicyResult("updater", float(np.mean(scored)) if scored else None,
                        len(scored), rows, accs)


# --------------------------------------------------------------------------- baselines


def make_model(stream: Stream) -> Pipeline:
    """scikit-learn's approximation of updater's built-in logistic regression."""
    numeric = [c for c in stream.features if c not in stream.categorical]
    transformers = []
    if numeric:
        transformers.append(("num", StandardScaler(), numeric))
    if stream.categorical:
        transformers.append(("cat", OneHotEncoder(handle_unknown="ignore"), stream.categorical))
    return Pipeline([
        ("prep", ColumnTransformer(transformers)),
        ("lr", LogisticRegression(solver="lbfgs", C=1.0, max_iter=1000)),
    ])


def window(stream: Stream, batches: list[int]) -> pd.DataFrame:
    """The newest WINDOW_ROWS rows of the given 0-based batches."""
    data = pd.concat([stream.frames[b] for b in batches], ignore_index=True)
    return data.iloc[-WINDOW_ROWS:]


def fit(stream: Stream, batches: list[int]) -> tuple[Pipeline, int]:
    """Fit on the newest WINDOW_ROWS rows of the given 0-based batches; return (model, rows)."""
    data = window(stream, batches)
    model = make_model(stream)
    model.fit(data[stream.features], (data[stream.label].astype(str) == stream.positive).to_numpy())
    return model, len(data)


def score(stream: Stream, model: Pipeline, i: int) -> float:
    """Accuracy of ``model`` on batch ``i`` (0-based) at threshold 0.5."""
    frame = stream.frames[i]
    proba = model.predict_proba(frame[stream.features])[:, 1]
    return float(np.mean((proba >= 0.5) == stream.labels(i)))


def baseline(stream: Stream, policy: str) -> PolicyResult:
    """Run one baseline policy prequentially over the stream.

    Batch i (0-based, i >= 1) is scored by the model trained after batch i - 1.
    Trainings after the last batch are counted in the compute but not fitted,
    since nothing is scored with them.
    """
    n = len(stream.frames)
    drifts = {int(d) - 1 for d in stream.meta.get("drift_batches", [])}
    model, total = fit(stream, [0])
    accs: list[float | None] = [None]
    concept_start = 0
    for i in range(1, n):
        accs.append(score(stream, model, i))
        train_on: list[int] = []
        if policy == "every":
            train_on = list(range(max(0, i - 3), i + 1))
        elif policy == "oracle":
            if i in drifts:
                concept_start = i
            if concept_start > 0 and i - concept_start < ORACLE_RETRAINS:
                train_on = list(range(concept_start, i + 1))
        if not train_on:
            continue
        if i == n - 1:
            total += len(window(stream, train_on))
        else:
            model, used = fit(stream, train_on)
            total += used
    scored = [a for a in accs if a is not None]
    return PolicyResult(policy, float(np.mean(scored)) if scored else None,
                        len(scored), total, accs)


# --------------------------------------------------------------------------- goals


def segment_rejections(stream: Stream, records: list[BatchRecord], versions: dict) -> int:
    """Rejected candidates in a shift segment after that segment's first candidate."""
    starts = sorted({1, *(int(b) for b in stream.meta.get("shift_batches", []))})
    run_to_batch = {r.run: r.batch for r in records if r.run is not None}
    by_segment: dict[int, list[dict]] = {}
    for version in sorted(versions.get("versions", []), key=lambda v: v["version"]):
        batch = run_to_batch.get(version.get("run"))
        if batch is None:
            continue
        segment = max(s for s in starts if s <= batch)
        by_segment.setdefault(segment, []).append(version)
    return sum(1 for vs in by_segment.values() for v in vs[1:] if v.get("status") == "rejected")


def goals(stream: Stream, results: dict[str, PolicyResult], records: list[BatchRecord],
          versions: dict) -> list[dict]:
    """Check the stream kind's goals; return one dict per goal."""
    if stream.kind not in GOALS:
        return []
    reference, slack, share = GOALS[stream.kind]
    up, ref, every = results["updater"], results.get(reference), results["every"]
    checks = []
    if ref is not None and up.mean_accuracy is not None:
        need = ref.mean_accuracy - slack
        checks.append({"goal": f"accuracy >= {reference} - {slack:g}",
                       "value": round(up.mean_accuracy, 4), "target": round(need, 4),
                       "pass": up.mean_accuracy >= need})
    ratio = up.training_rows / every.training_rows if every.training_rows else math.inf
    checks.append({"goal": f"rows <= {share:.0%} of every", "value": round(ratio, 4),
                   "target": share, "pass": ratio <= share})
    if stream.kind == "covariate":
        late = segment_rejections(stream, records, versions)
        checks.append({"goal": "no rejected candidate after a shift's first", "value": late,
                       "target": 0, "pass": late == 0})
    return checks


# --------------------------------------------------------------------------- report


def print_report(stream: Stream, results: dict[str, PolicyResult], checks: list[dict],
                 counts: dict, seconds: float) -> None:
    """Print the per-stream table and the goal checks."""
    every_rows = results["every"].training_rows
    print(f"\n== {stream.name} ({stream.kind}, {len(stream.frames)} batches, "
          f"{seconds:.0f}s)")
    print(f"{'POLICY':<9}{'ACCURACY':>10}{'SCORED':>8}{'ROWS':>10}{'% EVERY':>9}")
    for result in results.values():
        acc = "-" if result.mean_accuracy is None else f"{result.mean_accuracy:.4f}"
        pct = 100.0 * result.training_rows / every_rows if every_rows else float("nan")
        print(f"{result.policy:<9}{acc:>10}{result.scored_batches:>8}"
              f"{result.training_rows:>10}{pct:>8.1f}%")
    print(f"updater versions {counts['versions']}, promoted {counts['promoted']}, "
          f"rejected {counts['rejected']}; run outcomes: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts["outcomes"].items())))
    for check in checks:
        print(f"  {'PASS' if check['pass'] else 'FAIL'}  {check['goal']}: "
              f"{check['value']} (target {check['target']})")


def outcome_kind(outcome: str) -> str:
    """The outcome word of a ``run --once`` line (``NAME: WORD (run N): …``)."""
    match = re.match(r"[^:]+:\s*([A-Za-z_]+)", outcome)
    return match.group(1) if match else outcome[:30]


def run_stream(stream: Stream, args: argparse.Namespace, extra: str | None) -> dict:
    """Run updater and the baselines on one stream; print and return the numbers."""
    start = time.monotonic()
    workspace = Path(tempfile.mkdtemp(prefix=f"freshness-{stream.name}-"))
    try:
        records, versions = run_updater(stream, args.bin, workspace, extra,
                                        args.timeout, args.verbose)
    except BinaryError as exc:
        print(f"\n== {stream.name}: updater failed (workspace kept: {workspace})\n{exc}",
              file=sys.stderr)
        return {"stream": stream.name, "error": str(exc), "workspace": str(workspace)}
    updater_seconds = time.monotonic() - start
    results = {"updater": updater_result(records, versions)}
    policies = ["never", "every"] + (["oracle"] if stream.kind == "abrupt" else [])
    for policy in policies:
        results[policy] = baseline(stream, policy)
    all_versions = versions.get("versions", [])
    counts = {
        "versions": len(all_versions),
        "promoted": sum(1 for v in all_versions if v.get("status") == "passed"),
        "rejected": sum(1 for v in all_versions if v.get("status") == "rejected"),
        "outcomes": {},
    }
    for record in records:
        kind = outcome_kind(record.outcome)
        counts["outcomes"][kind] = counts["outcomes"].get(kind, 0) + 1
    checks = goals(stream, results, records, versions)
    seconds = time.monotonic() - start
    print_report(stream, results, checks, counts, seconds)
    if args.keep:
        print(f"  workspace kept: {workspace}")
    else:
        shutil.rmtree(workspace, ignore_errors=True)
    return {
        "stream": stream.name,
        "kind": stream.kind,
        "seconds": round(seconds, 1),
        "updater_seconds": round(updater_seconds, 1),
        "workspace": str(workspace) if args.keep else None,
        "policies": {k: asdict(v) for k, v in results.items()},
        "counts": counts,
        "goals": checks,
        "batches": [asdict(r) for r in records],
        "versions": [{k: v.get(k) for k in ("version", "status", "mode", "parent_version",
                                             "run", "training_rows", "generation")}
                     for v in all_versions],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="Prequential accuracy and training compute of updater versus baselines.",
    )
    parser.add_argument("--streams", required=True, type=Path,
                        help="directory of stream directories (made by make_streams.py)")
    parser.add_argument("--only", default="", help="comma-separated stream names to run")
    parser.add_argument("--bin", default=os.environ.get("UPDATER_BIN") or "updater",
                        help="updater binary (default: $UPDATER_BIN, else updater on PATH)")
    parser.add_argument("--job-extra", type=Path,
                        help="TOML text appended to every generated job file")
    parser.add_argument("--json", type=Path, help="write every number here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspaces")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds allowed per updater command (default: 600)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print one line per batch while running")
    args = parser.parse_args(argv)
    if shutil.which(args.bin) is None and not Path(args.bin).is_file():
        parser.error(f"updater binary not found: {args.bin}")
    if not args.streams.is_dir():
        parser.error(f"not a directory: {args.streams}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every selected stream in sequence."""
    args = parse_args(argv)
    extra = args.job_extra.read_text() if args.job_extra else None
    available = {p.parent.name: p.parent for p in sorted(args.streams.glob("*/stream.json"))}
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(available)
    missing = [n for n in names if n not in available]
    if missing:
        print(f"no stream.json for: {', '.join(missing)} in {args.streams}", file=sys.stderr)
        return 1
    if not names:
        print(f"no streams (*/stream.json) in {args.streams}", file=sys.stderr)
        return 1
    summary = []
    for name in names:
        summary.append(run_stream(load_stream(available[name]), args, extra))
        if args.json:
            args.json.write_text(json.dumps({"binary": args.bin, "streams": summary},
                                            indent=2) + "\n")
    return 1 if any("error" in s for s in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
