#!/usr/bin/env python3
"""Generate the synthetic telecom-churn data used by the bundled example job.

Writes three CSV files to ``Jobs/churn/data/`` (path relative to the
repository root, resolved from this file's location), each with a header row,
LF line endings and minimal quoting (Python's ``csv`` module):

* ``batch-01-initial.csv``    -- 3000 rows, base feature distribution.
* ``batch-02-shifted.csv``    -- 3000 rows, same labelling rule, but feature
  drift: monthly_charges up by about one standard deviation (plan mix shifted
  towards premium plus a price rise), more support calls.
* ``batch-03-relabelled.csv`` -- 3000 rows drawn from the batch-2 feature
  distribution, but the labels are randomly permuted, so they no longer relate
  to the features (concept drift; a model trained on it is useless).

Columns:

    customer_id      string id, unique across the three files (not a feature)
    tenure_months    numeric (integer months, 1-72)
    monthly_charges  numeric, 2 decimals; ~2% empty fields and a few "NA"
    support_calls    integer count
    plan             categorical: basic | standard | premium
    region           categorical: north | south | "east, coastal" (quoted:
                     embedded comma)
    churned          label: yes | no

Labels come from one fixed logistic rule on the true (pre-masking) features,
with Bernoulli noise, tuned so that a logistic regression reaches ROC-AUC
around 0.85 and accuracy around 0.78.

Output is deterministic (fixed numpy ``default_rng`` seeds).  Rerun from the
repository root with::

    pip install numpy scikit-learn     # scikit-learn only for the checks
    python3 scripts/make_example_data.py

Running it as a script also prints (does not assert) sanity checks: a logistic
regression trained on batch 1 (numeric columns mean-imputed and standardised,
categoricals one-hot, l2 = 1) evaluated on all three batches, a model trained
on batch 3, and PSI between batches (definition from
``scripts/fixtures/make_psi_fixtures.py``).  Python is only used to produce
example data; it is not a runtime dependency.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = REPO_ROOT / "Jobs" / "churn" / "data"

HEADER = [
    "customer_id",
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "plan",
    "region",
    "churned",
]
PLANS = ["basic", "standard", "premium"]
REGIONS = ["north", "south", "east, coastal"]
NUMERIC = ["tenure_months", "monthly_charges", "support_calls"]
CATEGORICAL = ["plan", "region"]

# Fixed labelling rule (log-odds of churn).
INTERCEPT = -0.4
TENURE_COEF = -0.073  # per month, centred at 36
CHARGES_COEF = 0.046  # per currency unit, centred at 50
CALLS_COEF = 0.72  # per call, centred at 1.2
PLAN_EFFECT = {"basic": 0.5, "standard": 0.0, "premium": -1.05}
REGION_EFFECT = {"north": 0.0, "south": 0.4, "east, coastal": -0.4}
PLAN_BASE_CHARGE = {"basic": 30.0, "standard": 60.0, "premium": 90.0}

BASE = {"plan_p": [0.5, 0.3, 0.2], "price_rise": 0.0, "calls_mean": 1.2}
SHIFTED = {"plan_p": [0.2, 0.3, 0.5], "price_rise": 10.0, "calls_mean": 2.5}

N_ROWS = 3000
N_EMPTY_CHARGES = 60  # 2% empty fields
N_NA_CHARGES = 8  # a few literal "NA"


def churn_logit(tenure, charges, calls, plan, region):
    return (
        INTERCEPT
        + TENURE_COEF * (tenure - 36.0)
        + CHARGES_COEF * (charges - 50.0)
        + CALLS_COEF * (calls - 1.2)
        + np.array([PLAN_EFFECT[p] for p in plan])
        + np.array([REGION_EFFECT[r] for r in region])
    )


def make_batch(seed: int, dist: dict, first_id: int, permute_labels: bool) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    n = N_ROWS
    tenure = rng.integers(1, 73, size=n)
    plan = [str(p) for p in rng.choice(np.array(PLANS), size=n, p=dist["plan_p"])]
    region = [str(r) for r in rng.choice(np.array(REGIONS), size=n, p=[0.4, 0.35, 0.25])]
    charges = (
        np.array([PLAN_BASE_CHARGE[p] for p in plan])
        + dist["price_rise"]
        + rng.normal(0.0, 8.0, size=n)
    )
    charges = np.round(np.maximum(charges, 15.0), 2)
    calls = rng.poisson(dist["calls_mean"], size=n)

    logit = churn_logit(tenure, charges, calls, plan, region)
    churned = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    if permute_labels:
        churned = rng.permutation(churned)

    masked = rng.permutation(n)[: N_EMPTY_CHARGES + N_NA_CHARGES]
    charge_text = [f"{c:.2f}" for c in charges]
    for i in masked[:N_EMPTY_CHARGES]:
        charge_text[i] = ""
    for i in masked[N_EMPTY_CHARGES:]:
        charge_text[i] = "NA"

    return [
        [
            f"C{first_id + i:06d}",
            str(int(tenure[i])),
            charge_text[i],
            str(int(calls[i])),
            plan[i],
            region[i],
            "yes" if churned[i] else "no",
        ]
        for i in range(n)
    ]


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(HEADER)
        writer.writerows(rows)


BATCHES = [
    ("batch-01-initial.csv", 101, BASE, False),
    ("batch-02-shifted.csv", 102, SHIFTED, False),
    ("batch-03-relabelled.csv", 103, SHIFTED, True),
]


def generate() -> list[Path]:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, (name, seed, dist, permute) in enumerate(BATCHES):
        path = OUT_DIR / name
        write_csv(path, make_batch(seed, dist, first_id=1 + k * N_ROWS, permute_labels=permute))
        paths.append(path)
    return paths


# ---------------------------------------------------------------- checks ----


def _read(path: Path):
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    num = {
        c: np.array([np.nan if r[c] in ("", "NA") else float(r[c]) for r in rows]) for c in NUMERIC
    }
    cat = {c: [r[c] for r in rows] for c in CATEGORICAL}
    y = np.array([1 if r["churned"] == "yes" else 0 for r in rows])
    return num, cat, y


class _Prep:
    """Mean-impute + standardise (ddof=0) numerics, one-hot sorted categories."""

    def __init__(self, num, cat):
        self.mean = {c: np.nanmean(v) for c, v in num.items()}
        self.std = {c: np.nanstd(np.where(np.isnan(v), self.mean[c], v)) for c, v in num.items()}
        self.levels = {c: sorted(set(v)) for c, v in cat.items()}

    def __call__(self, num, cat):
        cols = []
        for c in NUMERIC:
            v = np.where(np.isnan(num[c]), self.mean[c], num[c])
            cols.append((v - self.mean[c]) / self.std[c])
        for c in CATEGORICAL:
            arr = np.array(cat[c], dtype=object)
            cols.extend((arr == lvl).astype(float) for lvl in self.levels[c])
        return np.column_stack(cols)


def run_checks(paths: list[Path]) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import cross_val_predict

    sys.path.insert(0, str(REPO_ROOT / "scripts" / "fixtures"))
    from make_psi_fixtures import psi_categorical, psi_numeric

    data = [_read(p) for p in paths]
    for p, (num, _, y) in zip(paths, data):
        n_missing = int(np.isnan(num["monthly_charges"]).sum())
        print(
            f"{p.name}: {p.stat().st_size} bytes, rows={y.size}, churn rate={y.mean():.3f}, "
            f"monthly_charges mean={np.nanmean(num['monthly_charges']):.2f} "
            f"std={np.nanstd(num['monthly_charges']):.2f} missing={n_missing}, "
            f"support_calls mean={num['support_calls'].mean():.2f}"
        )

    def fit(num, cat, y):
        prep = _Prep(num, cat)
        model = LogisticRegression(C=1.0, l1_ratio=0.0, solver="lbfgs", max_iter=10000)
        model.fit(prep(num, cat), y)
        return prep, model

    def report(label, prep, model, batch):
        num, cat, y = batch
        s = model.predict_proba(prep(num, cat))[:, 1]
        print(f"  {label}: ROC-AUC={roc_auc_score(y, s):.3f} accuracy={accuracy_score(y, s >= 0.5):.3f}")

    print("logistic regression trained on batch 1 (l2=1):")
    prep, model = fit(*data[0])
    X1 = prep(*data[0][:2])
    cv = cross_val_predict(
        LogisticRegression(C=1.0, l1_ratio=0.0, max_iter=10000), X1, data[0][2], cv=5,
        method="predict_proba",
    )[:, 1]
    print(
        f"  batch 1 (5-fold CV): ROC-AUC={roc_auc_score(data[0][2], cv):.3f} "
        f"accuracy={accuracy_score(data[0][2], cv >= 0.5):.3f}"
    )
    report("batch 1 (in-sample)", prep, model, data[0])
    report("batch 2 (feature drift)", prep, model, data[1])
    report("batch 3 (labels permuted)", prep, model, data[2])

    print("logistic regression trained on batch 3:")
    prep3 = _Prep(*data[2][:2])
    X3 = prep3(*data[2][:2])
    cv3 = cross_val_predict(
        LogisticRegression(C=1.0, l1_ratio=0.0, max_iter=10000), X3, data[2][2], cv=5,
        method="predict_proba",
    )[:, 1]
    print(f"  batch 3 (5-fold CV): ROC-AUC={roc_auc_score(data[2][2], cv3):.3f}")
    _, model3 = fit(*data[2])
    report("batch 2 (scored by batch-3 model)", prep3, model3, data[1])

    print("PSI (10 bins, reference = earlier batch):")
    for a, b in [(0, 1), (1, 2)]:
        parts = []
        for c in NUMERIC:
            parts.append(f"{c}={psi_numeric(data[a][0][c], data[b][0][c])[0]:.3f}")
        for c in CATEGORICAL:
            parts.append(f"{c}={psi_categorical(data[a][1][c], data[b][1][c])[0]:.3f}")
        print(f"  batch {a + 1} -> batch {b + 1}: " + " ".join(parts))


if __name__ == "__main__":
    written = generate()
    for path in written:
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    run_checks(written)
