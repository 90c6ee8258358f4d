#!/usr/bin/env python3
"""An external trainer for updater, standard library only (trainer contract v1, docs/trainers.md).

Binary logistic regression by full-batch gradient descent: numeric features standardised (missing
values imputed with the training mean), categorical features one-hot encoded (levels unseen in
training get no column), L2 penalty. The model is saved as JSON in output_dir/model.json.

Modes (from $UPDATER_SPEC):
  full         train from scratch on data.training
  incremental  warm start from parent_model_dir/model.json, keeping its preprocessing, on
               data.new_batches plus data.replay
  score        load parent_model_dir/model.json and only score

In every mode the rows of data.evaluation are scored into scores_file (header `score`, one
probability of the positive class per row, in order). Progress goes to stdout (trainer.log).
Exit status: 0 success, 2 a problem with the spec or the data (the message says which).

Try it by hand:  UPDATER_SPEC=/path/to/spec.json python3 trainer_stdlib.py
"""

import csv
import json
import math
import os
import sys
import time

CONTRACT_VERSION = 1
MODEL_FORMAT = "updater-example-logreg"
MISSING = {"", "NA", "N/A", "NaN", "nan", "null", "NULL"}


class Problem(Exception):
    """A problem with the spec or the data: reported in one line, exit status 2."""


def say(*parts):
    print(*parts, flush=True)


def read_csv(path, columns, label=None):
    """The named columns (and the label) of a CSV file, as lists of strings."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise Problem(f"{path}: the file is empty")
        wanted = list(columns) + ([label] if label is not None else [])
        missing = [c for c in wanted if c not in header]
        if missing:
            raise Problem(f"{path}: column(s) missing from the header: {', '.join(missing)}")
        index = [header.index(c) for c in wanted]
        rows = []
        for line, record in enumerate(reader, start=2):
            if not record:
                continue
            if len(record) != len(header):
                raise Problem(f"{path}: line {line}: {len(record)} fields, the header has {len(header)}")
            rows.append([record[i] for i in index])
    return rows


def number(text, path, column):
    t = text.strip()
    if t in MISSING:
        return None
    try:
        v = float(t)
    except ValueError:
        raise Problem(f"{path}: column {column!r}: {text!r} is not a number")
    if not math.isfinite(v):
        raise Problem(f"{path}: column {column!r}: {text!r} is not a finite number")
    return v


class Model:
    """Preprocessing plus weights; saved and loaded as one JSON document."""

    def __init__(self, doc):
        self.doc = doc

    @staticmethod
    def fit_preprocessing(spec, rows, path):
        features, categorical = spec["features"], set(spec["categorical"])
        numeric = {}
        levels = {}
        for j, name in enumerate(features):
            if name in categorical:
                levels[name] = sorted({r[j] for r in rows})
            else:
                values = [v for v in (number(r[j], path, name) for r in rows) if v is not None]
                mean = sum(values) / len(values) if values else 0.0
                var = sum((v - mean) ** 2 for v in values) / len(values) if values else 0.0
                numeric[name] = {"mean": mean, "std": math.sqrt(var) if var > 0 else 1.0}
        width = sum(len(levels[n]) if n in levels else 1 for n in features)
        return Model({
            "format": MODEL_FORMAT, "format_version": 1, "task": "binary",
            "label": spec["label"], "classes": spec["classes"],
            "features": features, "categorical": sorted(categorical),
            "numeric": numeric, "levels": levels,
            "weights": [0.0] * width, "bias": 0.0, "trained_rows": 0, "generation": 0,
        })

    def design(self, rows, path):
        """Feature rows as vectors of the model's columns."""
        d = self.doc
        out = []
        for r in rows:
            x = []
            for j, name in enumerate(d["features"]):
                if name in d["levels"]:
                    x.extend(1.0 if r[j] == level else 0.0 for level in d["levels"][name])
                else:
                    v = number(r[j], path, name)
                    stats = d["numeric"][name]
                    x.append(0.0 if v is None else (v - stats["mean"]) / stats["std"])
            out.append(x)
        return out

    def probability(self, x):
        z = self.doc["bias"] + sum(w * v for w, v in zip(self.doc["weights"], x))
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def fit(self, xs, ys, iterations, deadline, l2=1e-4, rate=0.5):
        """Full-batch gradient descent on the mean log-loss plus l2/2 * |w|^2."""
        w, b = list(self.doc["weights"]), self.doc["bias"]
        n = len(xs)
        done = 0
        for it in range(iterations):
            gw = [l2 * wi for wi in w]
            gb = 0.0
            loss = 0.0
            for x, y in zip(xs, ys):
                z = b + sum(wi * xi for wi, xi in zip(w, x))
                p = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
                err = p - y
                for k, xi in enumerate(x):
                    if xi:
                        gw[k] += err * xi / n
                gb += err / n
                q = min(max(p, 1e-15), 1 - 1e-15)
                loss -= (y * math.log(q) + (1 - y) * math.log(1 - q)) / n
            w = [wi - rate * g for wi, g in zip(w, gw)]
            b -= rate * gb
            done = it + 1
            if it % 25 == 0:
                say(f"iteration {it}: log-loss {loss:.5f}")
            if math.sqrt(sum(g * g for g in gw) + gb * gb) < 1e-6:
                break
            if time.monotonic() > deadline:
                say(f"stopping after {done} iterations: half the time limit is used")
                break
        self.doc["weights"], self.doc["bias"] = w, b
        return done

    def save(self, directory):
        path = os.path.join(directory, "model.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(self.doc, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(path + ".tmp", path)
        return path

    @staticmethod
    def load(directory, spec):
        path = os.path.join(directory, "model.json")
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except FileNotFoundError:
            raise Problem(f"{path}: no model to start from")
        if doc.get("format") != MODEL_FORMAT:
            raise Problem(f"{path}: not a model of this trainer (format {doc.get('format')!r})")
        if doc["features"] != spec["features"]:
            raise Problem(f"{path}: the model's features {doc['features']} are not the spec's {spec['features']}")
        return Model(doc)


def labels(rows, spec, path):
    negative, positive = (str(c) for c in spec["classes"])
    ys = []
    for line, r in enumerate(rows, start=2):
        value = r[-1]
        if value == positive:
            ys.append(1.0)
        elif value == negative:
            ys.append(0.0)
        else:
            raise Problem(f"{path}: data row {line - 1}: label {value!r} is neither {negative!r} nor {positive!r}")
    return ys


def main():
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
    mode = spec["mode"]
    features, label, data = spec["features"], spec["label"], spec["data"]
    # Full-batch gradient descent from zero (or the parent) is deterministic: no use for spec["seed"].
    # Stop iterating at half the limit: scoring and saving need time too.
    deadline = started + 0.5 * float(spec["time_limit_seconds"])
    say(f"{spec['job']} run {spec['run']}: {mode} mode, {len(features)} features")

    if mode == "full":
        rows = read_csv(data["training"], features, label)
        if not rows:
            raise Problem(f"{data['training']}: no data rows")
        model = Model.fit_preprocessing(spec, rows, data["training"])
        ys = labels(rows, spec, data["training"])
        xs = model.design(rows, data["training"])
        n = model.fit(xs, ys, iterations=300, deadline=deadline)
        model.doc["trained_rows"] = len(rows)
        say(f"trained on {len(rows)} rows in {n} iterations")
    elif mode == "incremental":
        model = Model.load(spec["parent_model_dir"], spec)
        paths = list(data.get("new_batches") or [])
        if data.get("replay"):
            paths.append(data["replay"])
        if not paths and data.get("training"):
            paths.append(data["training"])
        xs, ys = [], []
        for p in paths:
            rows = read_csv(p, features, label)
            ys.extend(labels(rows, spec, p))
            xs.extend(model.design(rows, p))
        if not xs:
            raise Problem("incremental mode: no data rows in new_batches or replay")
        n = model.fit(xs, ys, iterations=100, deadline=deadline)
        model.doc["trained_rows"] = len(xs)
        model.doc["generation"] = int(model.doc.get("generation", 0)) + 1
        say(f"warm-started from {spec['parent_model_dir']}: {len(xs)} rows, {n} iterations")
    elif mode == "score":
        model = Model.load(spec["parent_model_dir"], spec)
    else:
        raise Problem(f"mode {mode!r} is not one of full, incremental, score")

    if mode != "score":
        say(f"saved {model.save(spec['output_dir'])}")

    # The evaluation rows have no label column; score them in order.
    rows = read_csv(data["evaluation"], features)
    scores = [model.probability(x) for x in model.design(rows, data["evaluation"])]
    tmp = spec["scores_file"] + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("score\n")
        for s in scores:
            f.write(f"{s:.17g}\n")
    os.replace(tmp, spec["scores_file"])
    say(f"scored {len(scores)} evaluation rows in {time.monotonic() - started:.2f}s")


if __name__ == "__main__":
    try:
        main()
    except Problem as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        sys.exit(2)
