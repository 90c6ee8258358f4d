#!/usr/bin/env python3
"""An external trainer for updater with scikit-learn (trainer contract v1, docs/trainers.md).

Needs: scikit-learn (with its joblib), pandas.  pip install scikit-learn pandas

A Pipeline of a ColumnTransformer (numeric: mean imputation + standardisation; categorical:
most-frequent imputation + one-hot with unknown levels ignored) and a LogisticRegression, saved
with joblib as output_dir/model.joblib, plus output_dir/meta.json describing it.

Modes (from $UPDATER_SPEC):
  full         fit the whole pipeline on data.training
  incremental  load parent_model_dir/model.joblib, keep its fitted preprocessing, and refit the
               classifier with warm_start=True (L-BFGS starts from the parent's coefficients) on
               data.new_batches plus data.replay
  score        load parent_model_dir/model.joblib and only score

In every mode data.evaluation (features only) is scored into scores_file: header `score`, one
probability of the positive class per row, in order. Exit status 2: a problem with the spec or data.

Only load model files you wrote yourself: joblib files are pickles and run code when loaded.
"""

import json
import os
import sys
import time

CONTRACT_VERSION = 1


class Problem(Exception):
    pass


def say(*parts):
    print(*parts, flush=True)


def main():
    try:
        import joblib
        import numpy as np
        import pandas as pd
        import sklearn
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler
    except ImportError as e:
        raise Problem(f"{e}: install scikit-learn and pandas in the Python this job runs (see docs/trainers.md)")

    started = time.monotonic()
    spec_path = os.environ.get("UPDATER_SPEC")
    if not spec_path:
        raise Problem("UPDATER_SPEC is not set: this program is run by updater (see docs/trainers.md)")
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    if spec.get("contract_version") != CONTRACT_VERSION:
        raise Problem(f"contract_version {spec.get('contract_version')!r}: this trainer implements {CONTRACT_VERSION}")
    if spec["task"] != "binary":
        raise Problem(f"task {spec['task']!r}: this trainer only does binary classification")

    mode, data = spec["mode"], spec["data"]
    features, label = spec["features"], spec["label"]
    categorical = [c for c in features if c in set(spec["categorical"])]
    numeric = [c for c in features if c not in set(categorical)]
    negative, positive = (str(c) for c in spec["classes"])
    # The same missing-value tokens as updater's own CSV reader.
    na = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"]
    dtypes = {c: str for c in categorical + [label]}

    def read(path, with_label=True):
        columns = features + ([label] if with_label else [])
        try:
            frame = pd.read_csv(path, usecols=columns, dtype=dtypes, na_values=na, keep_default_na=False)
        except ValueError as e:
            raise Problem(f"{path}: {e}")
        return frame[columns]

    def target(frame, path):
        y = frame[label]
        bad = ~y.isin([negative, positive])
        if bad.any():
            raise Problem(f"{path}: label {y[bad].iloc[0]!r} is neither {negative!r} nor {positive!r}")
        return (y == positive).astype(int).to_numpy()

    say(f"{spec['job']} run {spec['run']}: {mode} mode, scikit-learn {sklearn.__version__}")
    if mode == "full":
        frame = read(data["training"])
        pre = ColumnTransformer([
            ("numeric", Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler())]), numeric),
            ("categorical", Pipeline([
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("onehot", OneHotEncoder(handle_unknown="ignore")),
            ]), categorical),
        ])
        model = Pipeline([
            ("pre", pre),
            ("clf", LogisticRegression(C=1.0, max_iter=1000, random_state=spec["seed"] % 2**32)),
        ])
        model.fit(frame[features], target(frame, data["training"]))
        rows = len(frame)
    elif mode in ("incremental", "score"):
        path = os.path.join(spec["parent_model_dir"], "model.joblib")
        if not os.path.exists(path):
            raise Problem(f"{path}: no model to start from")
        model = joblib.load(path)
        if mode == "incremental":
            paths = list(data.get("new_batches") or []) + ([data["replay"]] if data.get("replay") else [])
            if not paths and data.get("training"):
                paths = [data["training"]]
            frames = [read(p) for p in paths]
            frame = pd.concat(frames, ignore_index=True)
            y = np.concatenate([target(f, p) for f, p in zip(frames, paths)])
            # Keep the parent's preprocessing, so its coefficients mean the same; warm-start the rest.
            x = model.named_steps["pre"].transform(frame[features])
            model.named_steps["clf"].set_params(warm_start=True)
            model.named_steps["clf"].fit(x, y)
            rows = len(frame)
    else:
        raise Problem(f"mode {mode!r} is not one of full, incremental, score")

    if mode != "score":
        out = spec["output_dir"]
        joblib.dump(model, os.path.join(out, "model.joblib"))
        with open(os.path.join(out, "meta.json"), "w", encoding="utf-8") as f:
            json.dump({"trainer": "trainer_sklearn.py", "sklearn": sklearn.__version__, "mode": mode,
                       "features": features, "categorical": categorical, "classes": spec["classes"],
                       "rows": rows}, f, indent=1)
        say(f"trained on {rows} rows; saved {out}/model.joblib")

    evaluation = read(data["evaluation"], with_label=False)
    # predict_proba's columns follow clf.classes_ ([0, 1]): column 1 is the positive class.
    scores = model.predict_proba(evaluation[features])[:, 1]
    tmp = spec["scores_file"] + ".tmp"
    pd.DataFrame({"score": scores}).to_csv(tmp, index=False, float_format="%.17g")
    os.replace(tmp, spec["scores_file"])
    say(f"scored {len(scores)} evaluation rows in {time.monotonic() - started:.2f}s")


if __name__ == "__main__":
    try:
        main()
    except Problem as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        sys.exit(2)
