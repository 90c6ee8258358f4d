#!/usr/bin/env python3
"""An external trainer for updater with scikit-learn (trainer contracts 1 and 2, docs/trainers.md).

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

Contract 2 adds: multiclass jobs (the same LogisticRegression, multinomial; scores_file has one
column per class, headed by the class names in the spec's order), regression jobs (Ridge instead;
scores_file is `prediction`), a report (report_file: the estimator's parameters and its accuracy
or RMSE on its own training rows) and, when the spec gives data.validation, its scores in
validation_scores_file (updater chooses the decision threshold from them).

Only load model files you wrote yourself: joblib files are pickles and run code when loaded.
"""

import json
import os
import sys
import time

CONTRACT_VERSIONS = (1, 2)


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
        from sklearn.linear_model import LogisticRegression, Ridge
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
    contract = spec.get("contract_version")
    if contract not in CONTRACT_VERSIONS:
        raise Problem(f"contract_version {contract!r}: this trainer implements {CONTRACT_VERSIONS}")
    task = spec["task"]
    if task not in ("binary", "multiclass", "regression") or (contract == 1 and task != "binary"):
        raise Problem(f"task {task!r} is not one contract {contract} has")

    mode, data = spec["mode"], spec["data"]
    features, label = spec["features"], spec["label"]
    categorical = [c for c in features if c in set(spec["categorical"])]
    numeric = [c for c in features if c not in set(categorical)]
    classes = [str(c) for c in spec["classes"]]
    # The same missing-value tokens as updater's own CSV reader.
    na = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"]
    dtypes = {c: str for c in categorical + ([label] if task != "regression" else [])}

    def read(path, with_label=True):
        columns = features + ([label] if with_label else [])
        try:
            frame = pd.read_csv(path, usecols=columns, dtype=dtypes, na_values=na, keep_default_na=False)
        except ValueError as e:
            raise Problem(f"{path}: {e}")
        return frame[columns]

    def target(frame, path):
        y = frame[label]
        if task == "regression":
            if y.isna().any():
                raise Problem(f"{path}: the label is missing")
            return y.astype(float).to_numpy()
        bad = ~y.isin(classes)
        if bad.any():
            raise Problem(f"{path}: label {y[bad].iloc[0]!r} is not one of {classes}")
        # Binary: 1 for the positive class (classes[1]); more classes: the class's index.
        return y.map({c: i for i, c in enumerate(classes)}).astype(int).to_numpy()

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
        estimator = (Ridge(alpha=1.0) if task == "regression"
                     else LogisticRegression(C=1.0, max_iter=1000, random_state=spec["seed"] % 2**32))
        model = Pipeline([("pre", pre), ("clf", estimator)])
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
            if task != "regression":
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

    def outputs(frame):
        """The scores file's columns: `score`, one per class, or `prediction`."""
        if task == "regression":
            return pd.DataFrame({"prediction": model.predict(frame[features])})
        proba = model.predict_proba(frame[features])
        # predict_proba's columns follow clf.classes_ (the class indexes that were trained on).
        full = np.zeros((len(frame), len(classes)))
        for j, k in enumerate(model.named_steps["clf"].classes_):
            full[:, int(k)] = proba[:, j]
        if task == "binary":
            return pd.DataFrame({"score": full[:, 1]})
        return pd.DataFrame(full, columns=classes)

    def write(frame, path):
        tmp = path + ".tmp"
        outputs(frame).to_csv(tmp, index=False, float_format="%.17g")
        os.replace(tmp, path)

    evaluation = read(data["evaluation"], with_label=False)
    write(evaluation, spec["scores_file"])
    if data.get("validation") and spec.get("validation_scores_file"):
        write(read(data["validation"], with_label=False), spec["validation_scores_file"])
    if spec.get("report_file") and mode != "score":
        clf = model.named_steps["clf"]
        trained = pd.concat([read(p) for p in ([data["training"]] if mode == "full" else paths)], ignore_index=True)
        y = np.concatenate([target(trained, "training rows")])
        predicted = model.predict(trained[features])
        metrics = ({"train_rmse": float(np.sqrt(np.mean((predicted - y) ** 2)))} if task == "regression"
                   else {"train_accuracy": float(np.mean(predicted == y))})
        params = {k: v for k, v in clf.get_params().items() if isinstance(v, (int, float, str, bool)) or v is None}
        with open(spec["report_file"], "w", encoding="utf-8") as f:
            json.dump({"params": {"estimator": type(clf).__name__, **params}, "metrics": metrics}, f)
    say(f"scored {len(evaluation)} evaluation rows in {time.monotonic() - started:.2f}s")


if __name__ == "__main__":
    try:
        main()
    except Problem as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        sys.exit(2)
