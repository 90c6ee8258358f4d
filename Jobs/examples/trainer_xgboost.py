#!/usr/bin/env python3
"""An external trainer for updater with XGBoost (trainer contract v1, docs/trainers.md).

Needs: xgboost, pandas.  pip install xgboost pandas

Gradient-boosted trees, the model most tabular teams serve. Missing values are native to XGBoost;
categorical columns use its native categorical splits (pandas `category` dtype), with the category
levels of the first training kept in output_dir/meta.json so that every later run codes them the
same way (a level never seen is treated as missing). The model is output_dir/model.json, XGBoost's
portable JSON format (xgboost.Booster().load_model reads it in any language binding).

Modes (from $UPDATER_SPEC):
  full         train XGB_ROUNDS rounds on data.training
  incremental  load parent_model_dir/model.json and add XGB_INCREMENTAL_ROUNDS rounds on
               data.new_batches plus data.replay (boosting continues from the parent's trees)
  score        load parent_model_dir/model.json and only score

Settings, from [training.env] (all optional): XGB_ROUNDS (200), XGB_INCREMENTAL_ROUNDS (50),
XGB_MAX_DEPTH (4), XGB_ETA (0.1), XGB_NTHREAD (all cores).

In every mode data.evaluation (features only) is scored into scores_file: header `score`, one
probability of the positive class per row, in order. Exit status 2: a problem with the spec or data.
Jobs/examples/trainer_dask.py trains the same model on a Dask cluster and imports this file.
"""

import json
import os
import sys
import time

CONTRACT_VERSION = 1
# The same missing-value tokens as updater's own CSV reader.
NA = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"]


class Problem(Exception):
    pass


def say(*parts):
    print(*parts, flush=True)


def load_spec():
    path = os.environ.get("UPDATER_SPEC")
    if not path:
        raise Problem("UPDATER_SPEC is not set: this program is run by updater (see docs/trainers.md)")
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    if spec.get("contract_version") != CONTRACT_VERSION:
        raise Problem(f"contract_version {spec.get('contract_version')!r}: this trainer implements {CONTRACT_VERSION}")
    if spec["task"] != "binary":
        raise Problem(f"task {spec['task']!r}: this trainer does binary classification (contract v1)")
    if spec["mode"] not in ("full", "incremental", "score"):
        raise Problem(f"mode {spec['mode']!r} is not one of full, incremental, score")
    return spec


def params(spec):
    env = os.environ
    p = {
        "objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
        "max_depth": int(env.get("XGB_MAX_DEPTH", "4")), "eta": float(env.get("XGB_ETA", "0.1")),
        "seed": spec["seed"] % 2**31,
    }
    if env.get("XGB_NTHREAD"):
        p["nthread"] = int(env["XGB_NTHREAD"])
    return p


class Data:
    """Reads the spec's CSV files with the feature types it names and the category levels kept with the model."""

    def __init__(self, spec, levels=None):
        import pandas as pd
        self.pd = pd
        self.features, self.label = spec["features"], spec["label"]
        self.categorical = [c for c in self.features if c in set(spec["categorical"])]
        self.negative, self.positive = (str(c) for c in spec["classes"])
        self.levels = levels  # {column: [levels]} from the first training

    def read(self, path, with_label=True):
        pd = self.pd
        columns = self.features + ([self.label] if with_label else [])
        dtypes = {c: str for c in self.categorical + ([self.label] if with_label else [])}
        try:
            frame = pd.read_csv(path, usecols=columns, dtype=dtypes, na_values=NA, keep_default_na=False)
        except ValueError as e:
            raise Problem(f"{path}: {e}")
        for c in self.features:
            if c not in self.categorical and not pd.api.types.is_numeric_dtype(frame[c]):
                raise Problem(f"{path}: column {c!r} is not numeric")
        return frame[columns]

    def fix_levels(self, frames):
        if self.levels is None:
            self.levels = {c: sorted({v for f in frames for v in f[c].dropna().unique()}) for c in self.categorical}

    def x(self, frame):
        x = frame[self.features].copy()
        for c in self.categorical:
            x[c] = self.pd.Categorical(x[c], categories=self.levels[c])  # unseen levels become missing
        return x

    def y(self, frame, path):
        y = frame[self.label]
        bad = ~y.isin([self.negative, self.positive])
        if bad.any():
            raise Problem(f"{path}: label {y[bad].iloc[0]!r} is neither {self.negative!r} nor {self.positive!r}")
        return (y == self.positive).astype(int).to_numpy()

    def training_files(self, spec):
        data = spec["data"]
        if spec["mode"] == "full":
            return [data["training"]]
        paths = list(data.get("new_batches") or []) + ([data["replay"]] if data.get("replay") else [])
        return paths or ([data["training"]] if data.get("training") else [])


def parent(spec):
    """The parent model's booster and category levels (incremental and score modes)."""
    import xgboost as xgb
    directory = spec.get("parent_model_dir")
    path = os.path.join(directory or "", "model.json")
    if not directory or not os.path.exists(path):
        raise Problem(f"{path}: no model to start from")
    booster = xgb.Booster()
    booster.load_model(path)
    with open(os.path.join(directory, "meta.json"), encoding="utf-8") as f:
        return booster, json.load(f)["levels"]


def save(spec, booster, data, rows, trainer):
    out = spec["output_dir"]
    booster.save_model(os.path.join(out, "model.json"))
    import xgboost as xgb
    with open(os.path.join(out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump({"trainer": trainer, "xgboost": xgb.__version__, "mode": spec["mode"], "features": data.features,
                   "categorical": data.categorical, "levels": data.levels, "classes": spec["classes"], "rows": rows,
                   "rounds": booster.num_boosted_rounds()}, f, indent=1)
    say(f"trained on {rows} rows ({booster.num_boosted_rounds()} rounds); saved {out}/model.json")


def write_scores(spec, scores):
    tmp = spec["scores_file"] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("score\n")
        for s in scores:
            f.write(f"{float(s):.17g}\n")
    os.replace(tmp, spec["scores_file"])


def main():
    try:
        import pandas as pd
        import xgboost as xgb
    except ImportError as e:
        raise Problem(f"{e}: install xgboost and pandas in the Python this job runs (see docs/trainers.md)")
    started = time.monotonic()
    spec = load_spec()
    mode = spec["mode"]
    say(f"{spec['job']} run {spec['run']}: {mode} mode, XGBoost {xgb.__version__}")
    booster, levels = parent(spec) if mode != "full" else (None, None)
    data = Data(spec, levels)
    if mode != "score":
        paths = data.training_files(spec)
        frames = [data.read(p) for p in paths]
        data.fix_levels(frames)
        frame = pd.concat(frames, ignore_index=True)
        y = [data.y(f, p) for f, p in zip(frames, paths)]
        import numpy as np
        dtrain = xgb.DMatrix(data.x(frame), label=np.concatenate(y), enable_categorical=True)
        rounds = int(os.environ.get("XGB_ROUNDS" if mode == "full" else "XGB_INCREMENTAL_ROUNDS", "200" if mode == "full" else "50"))
        booster = xgb.train(params(spec), dtrain, num_boost_round=rounds, xgb_model=booster)
        save(spec, booster, data, len(frame), "trainer_xgboost.py")
    evaluation = data.read(spec["data"]["evaluation"], with_label=False)
    scores = booster.predict(xgb.DMatrix(data.x(evaluation), enable_categorical=True))
    write_scores(spec, scores)
    say(f"scored {len(scores)} evaluation rows in {time.monotonic() - started:.2f}s")


if __name__ == "__main__":
    try:
        main()
    except Problem as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        sys.exit(2)
