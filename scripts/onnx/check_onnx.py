#!/usr/bin/env python3
"""Check an ONNX file exported by `updater export` against `updater predict` on the same rows.

Usage: check_onnx.py MODEL.onnx INPUT.csv PREDICTIONS.csv

Runs onnx.checker (full check, with shape inference), then scores INPUT.csv with onnxruntime: each
graph input is fed its column, numbers as double (an empty cell as NaN), text as string (an empty
cell as ""). Prints one JSON object: the largest absolute difference from PREDICTIONS.csv (`score`,
`p_CLASS` or `prediction` columns, as updater predict writes them) and the number of rows whose
`label` differs. Used by Tests/EndToEndTests/ONNXExportTests.swift; needs onnx and onnxruntime
from PyPI.
"""
import csv
import json
import sys

import numpy as np
import onnx
import onnxruntime


def main():
    model_path, input_path, predictions_path = sys.argv[1:4]
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    rows = list(csv.DictReader(open(input_path, newline="")))
    feeds = {}
    for i in session.get_inputs():
        if i.type == "tensor(double)":
            feeds[i.name] = np.array([[float(r[i.name]) if r[i.name] != "" else np.nan] for r in rows], dtype=np.float64)
        else:
            feeds[i.name] = np.array([[r[i.name]] for r in rows], dtype=object)
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    expected = list(csv.DictReader(open(predictions_path, newline="")))
    result = {"inputs": [i.name for i in session.get_inputs()], "outputs": sorted(outputs), "rows": len(rows)}
    if "probabilities" in outputs:
        p = outputs["probabilities"]
        if "score" in expected[0]:
            result["max_difference"] = float(np.max(np.abs(p[:, 1] - np.array([float(r["score"]) for r in expected]))))
        else:
            columns = [c for c in expected[0] if c.startswith("p_")]
            result["max_difference"] = float(np.max(np.abs(p - np.array([[float(r[c]) for c in columns] for r in expected]))))
        result["label_mismatches"] = int(sum(a != r["label"] for a, r in zip(outputs["label"], expected)))
    else:
        result["max_difference"] = float(np.max(np.abs(outputs["prediction"] - np.array([float(r["prediction"]) for r in expected]))))
        result["label_mismatches"] = 0
    print(json.dumps(result))


if __name__ == "__main__":
    main()
