#!/usr/bin/env python3
"""A small model server for updater's ONNX files, to show (and test) deploy hooks.

    python3 serve_onnx.py --model /srv/models/churn.onnx --port 8500

It loads the ONNX file that updater publishes (deploy.format = "onnx") with onnxruntime, and its
metadata file beside it (MODEL.json), and serves on 127.0.0.1:

    GET  /model     what is loaded: {"version": 3, "sha256": "…", "loaded_at": …}, 503 before a model
    POST /predict   {"rows": [{"tenure_months": 12, "plan": "premium", …}, …]} → {"label": […], "probabilities": […]}
                    (or {"prediction": […]} for regression); a missing number is null, a missing text ""
    POST /reload    loads the file again; refuses (409) when the file's SHA-256 differs from its metadata's
                    (updater replaces each file atomically, but not both at once); {"version": …, "sha256": …}

Jobs/examples/deploy_reload.sh is the deploy command that calls /reload after each change. Needs
onnxruntime and numpy (pip install onnxruntime). Not for production as it is: no TLS, no auth, one
thread.
"""
import argparse
import hashlib
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import onnxruntime


class Model:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.session = None
        self.info = None

    def load(self):
        with open(self.path, "rb") as f:
            data = f.read()
        digest = hashlib.sha256(data).hexdigest()
        with open(self.path + ".json") as f:
            meta = json.load(f)
        if meta.get("sha256") != digest:
            raise ValueError(f"{self.path} has SHA-256 {digest[:12]}…, its metadata says {meta.get('sha256', '')[:12]}…: "
                             "the two are of different versions (try again)")
        session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
        with self.lock:
            self.session = session
            self.info = {"job": meta.get("job"), "version": meta.get("version"), "sha256": digest, "loaded_at": time.time()}
        return self.info

    def predict(self, rows):
        with self.lock:
            session = self.session
        if session is None:
            raise LookupError("no model loaded yet")
        feeds = {}
        for i in session.get_inputs():
            if i.type == "tensor(double)":
                feeds[i.name] = np.array([[np.nan if r.get(i.name) is None else float(r[i.name])] for r in rows], dtype=np.float64)
            else:
                feeds[i.name] = np.array([[str(r.get(i.name) or "")] for r in rows], dtype=object)
        names = [o.name for o in session.get_outputs()]
        return {n: v.tolist() for n, v in zip(names, session.run(names, feeds))}


def handler(model):
    class Handler(BaseHTTPRequestHandler):
        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path != "/model":
                return self.reply(404, {"error": "not found"})
            return self.reply(200, model.info) if model.info else self.reply(503, {"error": "no model loaded yet"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b"{}"
            if self.path == "/reload":
                try:
                    return self.reply(200, model.load())
                except ValueError as e:
                    return self.reply(409, {"error": str(e)})
                except Exception as e:
                    return self.reply(500, {"error": f"cannot load {model.path}: {e}"})
            if self.path == "/predict":
                try:
                    return self.reply(200, model.predict(json.loads(body).get("rows", [])))
                except LookupError as e:
                    return self.reply(503, {"error": str(e)})
                except Exception as e:
                    return self.reply(400, {"error": str(e)})
            return self.reply(404, {"error": "not found"})

        def log_message(self, format, *args):
            sys.stderr.write("serve_onnx: " + format % args + "\n")

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="the ONNX file updater publishes (its deploy.path)")
    ap.add_argument("--port", type=int, default=8500, help="port on 127.0.0.1 (0: any; the chosen one is printed)")
    args = ap.parse_args()
    # Stop on SIGTERM even when started by a process that ignores it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    model = Model(args.model)
    if os.path.exists(args.model):
        try:
            model.load()
        except Exception as e:
            print(f"serve_onnx: not loaded at start: {e}", file=sys.stderr)
    server = HTTPServer(("127.0.0.1", args.port), handler(model))
    print(f"serving on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
