#!/usr/bin/env python3
"""Benchmark: webhook delivery throughput and latency, and isolation from a dead endpoint.

The real daemon (`updater run`, release build) delivers events from its outbox to two local
receivers (HTTP/1.1 keep-alive servers on 127.0.0.1 that check every signature). Events are
written into the outbox table directly, the way the update cycle writes them, so the figures are
those of the delivery path alone (fan-out, signing, libcurl, recording each attempt).

1. Burst: 10,000 events at once, two healthy endpoints. All must be delivered, signed; printed:
   the delivery rate per endpoint (events/s).
2. Steady: 10,000 events at RATE per second, two healthy endpoints; printed: latency from the
   event's commit to its arrival, p50/p90/p99/max, per endpoint.
3. The same with endpoint B down (it accepts connections and never answers, so every attempt
   waits for its 2 s timeout): endpoint A's latency percentiles must stay those of step 2
   (printed side by side, with the ratio).

No peer is named for this benchmark. Usage: `make release` (the UPDATER
environment variable overrides the binary's path), then
`python3 Benchmarks/webhook_bench.py` (standard library only). `make bench` runs it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import os
import random
import shutil
import socket
import sqlite3
import string
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UPDATER = Path(os.environ.get("UPDATER", ROOT / ".build" / "release" / "updater"))
EVENTS = 10_000
RATE = 500  # events per second in the steady phases
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
KEY = bytes(range(32))


class Receiver:
    """Records the arrival time of every webhook-id; counts bad signatures."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.bad = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK hold every answer 40 ms.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.time()
                msg_id, ts = self.headers["webhook-id"], self.headers["webhook-timestamp"]
                mac = hmac.new(KEY, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
                good = ("v1," + base64.b64encode(mac).decode()) in self.headers["webhook-signature"].split(" ")
                with outer.lock:
                    outer.arrived.setdefault(msg_id, now)
                    if not good:
                        outer.bad += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self) -> int:
        with self.lock:
            return len(self.arrived)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class BlackHole:
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def stop(self) -> None:
        self.sock.close()
        for c in self.held:
            c.close()


def new_id() -> str:
    return "msg_" + "".join(random.choices(string.ascii_letters + string.digits, k=24))


def grdb_date(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class Daemon:
    def __init__(self, work: Path, urls: dict[str, str]) -> None:
        self.work = work
        for d in ("jobs", "state"):
            (work / d).mkdir(parents=True, exist_ok=True)
        (work / "hook.secret").write_text(SECRET + "\n")
        text = 'retry_schedule = ["1s", "5s"]\n'
        for name, url in urls.items():
            text += f'\n[[webhooks]]\nname = "{name}"\nurl = "{url}"\nsecret_file = "hook.secret"\ntimeout = "2s"\n'
        (work / "webhooks.toml").write_text(text)
        self.log = open(work / "daemon.log", "w")
        self.proc = subprocess.Popen(
            [str(UPDATER), "run", "--jobs", str(work / "jobs"), "--state-dir", str(work / "state"), "--log-level", "error"],
            stderr=self.log, stdout=subprocess.DEVNULL)
        db = work / "state" / "registry.sqlite"
        for _ in range(200):
            if db.exists():
                try:
                    c = sqlite3.connect(db, timeout=15)
                    c.execute("SELECT 1 FROM webhook_event LIMIT 1")
                    self.db = c
                    return
                except sqlite3.Error:
                    pass
            time.sleep(0.05)
        sys.exit(f"the daemon did not create its database: {(work / 'daemon.log').read_text()}")

    def insert(self, n: int, rate: float | None) -> dict[str, float]:
        """Writes n events (all at once, or `rate` per second in groups of 10); returns commit times."""
        committed: dict[str, float] = {}
        start = time.time()
        group = n if rate is None else 10
        for first in range(0, n, group):
            rows = []
            now = time.time()
            for i in range(first, min(n, first + group)):
                payload = json.dumps({"data": {"i": i, "job": "bench"}, "timestamp": grdb_date(now), "type": "run.started"},
                                     separators=(",", ":"), sort_keys=True)
                rows.append((new_id(), "run.started", "bench", payload, grdb_date(now)))
            with self.db:
                self.db.executemany(
                    "INSERT INTO webhook_event (id, type, job, payload, created_at, fanned_out) VALUES (?, ?, ?, ?, ?, 0)", rows)
            t = time.time()
            for r in rows:
                committed[r[0]] = t
            if rate is not None:
                wait = start + (first + group) / rate - time.time()
                if wait > 0:
                    time.sleep(wait)
        return committed

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.db.close()
        self.log.close()


def wait_all(receiver: Receiver, n: int, seconds: float = 600) -> float:
    deadline = time.time() + seconds
    while receiver.count() < n and time.time() < deadline:
        time.sleep(0.02)
    if receiver.count() < n:
        sys.exit(f"only {receiver.count()} of {n} events arrived")
    return max(receiver.arrived.values())


def percentiles(committed: dict[str, float], receiver: Receiver) -> list[float]:
    lat = sorted((receiver.arrived[i] - t) * 1000 for i, t in committed.items())
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    return [pick(0.5), pick(0.9), pick(0.99), lat[-1]]


def show(name: str, p: list[float]) -> str:
    return f"{name}: p50 {p[0]:7.1f} ms  p90 {p[1]:7.1f} ms  p99 {p[2]:7.1f} ms  max {p[3]:7.1f} ms"


def main() -> None:
    if not UPDATER.exists():
        sys.exit(f"{UPDATER} is missing: run `make release` first")
    base = Path(tempfile.mkdtemp(prefix="updater-webhook-bench-"))
    try:
        print(f"webhook delivery: {EVENTS:,} events per phase, two endpoints, real daemon (release build)", flush=True)

        # 1. Burst.
        a, b = Receiver(), Receiver()
        d = Daemon(base / "burst", {"a": a.url, "b": b.url})
        committed = d.insert(EVENTS, rate=None)
        t0 = max(committed.values())
        ends = [wait_all(a, EVENTS), wait_all(b, EVENTS)]
        d.stop()
        assert a.bad == 0 and b.bad == 0, "bad signatures"
        print(f"burst: all {EVENTS:,} delivered to both, every signature valid; "
              f"endpoint a {EVENTS / (ends[0] - t0):,.0f} events/s, endpoint b {EVENTS / (ends[1] - t0):,.0f} events/s")
        a.stop(), b.stop()

        # 2. Steady, both healthy.
        a, b = Receiver(), Receiver()
        d = Daemon(base / "steady", {"a": a.url, "b": b.url})
        committed = d.insert(EVENTS, rate=RATE)
        wait_all(a, EVENTS), wait_all(b, EVENTS)
        d.stop()
        healthy = percentiles(committed, a)
        print(f"steady {RATE}/s, both endpoints up:")
        print("  " + show("a", healthy))
        print("  " + show("b", percentiles(committed, b)))
        a.stop(), b.stop()

        # 3. Steady, endpoint b hangs.
        a, hole = Receiver(), BlackHole()
        d = Daemon(base / "down", {"a": a.url, "b": hole.url})
        committed = d.insert(EVENTS, rate=RATE)
        wait_all(a, EVENTS)
        pending = d.db.execute("SELECT COUNT(*) FROM webhook_delivery WHERE endpoint = 'b' AND state = 'pending'").fetchone()[0]
        d.stop()
        isolated = percentiles(committed, a)
        print(f"steady {RATE}/s, endpoint b down (never answers, 2 s timeout; {pending:,} deliveries waiting for it):")
        print("  " + show("a", isolated))
        print(f"  a's latency with b down / with b up: p50 {isolated[0] / healthy[0]:.2f}x, p99 {isolated[2] / healthy[2]:.2f}x")
        a.stop(), hole.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
