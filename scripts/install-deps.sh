#!/usr/bin/env bash
# Installs what building and testing updater needs on Debian/Ubuntu, if it is missing:
# the SQLite and libcurl (OpenSSL flavour, for webhooks) development files, and for the tests
# the sqlite3 command (they inspect and tamper with a registry), python3 (they run the example
# external trainer, standard library only) and chromium (headless, it loads the dashboard and the
# HTML reports: scripts/browser/check_pages.py).
# Swift itself must already be on PATH.
set -euo pipefail

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
need=()
for pkg in libsqlite3-dev sqlite3 libcurl4-openssl-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
command -v python3 >/dev/null || need+=(python3)
command -v chromium >/dev/null || need+=(chromium)
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    "${sudo_cmd[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${need[@]}"
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.2 or later (https://swift.org/install)" >&2; exit 1; }

# The webhook tests also verify a delivery with the reference Standard Webhooks package when Python
# can import it; install it if pip can (the test says so and skips that check otherwise).
if ! python3 -c "import standardwebhooks" 2>/dev/null; then
    python3 -m pip install -q standardwebhooks 2>/dev/null \
        || python3 -m pip install -q --break-system-packages standardwebhooks 2>/dev/null \
        || echo "note: could not pip install standardwebhooks; its reference check is skipped"
fi
# The metrics tests parse /metrics with Prometheus's own Python client parser.
if ! python3 -c "import prometheus_client" 2>/dev/null; then
    python3 -m pip install -q prometheus-client 2>/dev/null \
        || python3 -m pip install -q --break-system-packages prometheus-client 2>/dev/null \
        || echo "note: could not pip install prometheus-client; the metrics tests will fail"
fi
# The browser tests drive chromium through its DevTools protocol with websocket-client.
if ! python3 -c "import websocket" 2>/dev/null; then
    python3 -m pip install -q websocket-client 2>/dev/null \
        || python3 -m pip install -q --break-system-packages websocket-client 2>/dev/null \
        || echo "note: could not pip install websocket-client; the browser tests will fail"
fi
# The ONNX export tests check exported models with onnx.checker and score them with onnxruntime.
if ! python3 -c "import onnx, onnxruntime" 2>/dev/null; then
    python3 -m pip install -q onnx onnxruntime 2>/dev/null \
        || python3 -m pip install -q --break-system-packages onnx onnxruntime 2>/dev/null \
        || echo "note: could not pip install onnx and onnxruntime; the ONNX export tests will fail"
fi
# The cluster trainer tests run Jobs/examples/trainer_xgboost.py and trainer_dask.py with a real
# Dask scheduler and two workers on 127.0.0.1 (xgboost-cpu is XGBoost without the CUDA libraries).
# trainer_sklearn.py (trainer contract 2 tests) needs scikit-learn.
if ! python3 -c "import xgboost, dask.dataframe, distributed, pandas, pyarrow, sklearn" 2>/dev/null; then
    python3 -m pip install -q xgboost-cpu "dask[dataframe,distributed]" pandas scikit-learn 2>/dev/null \
        || python3 -m pip install -q --break-system-packages xgboost-cpu "dask[dataframe,distributed]" pandas scikit-learn 2>/dev/null \
        || echo "note: could not pip install xgboost, dask and scikit-learn; the trainer tests will fail"
fi
# The metrics tests lint /metrics and the alert rules in docs/ with Prometheus's promtool. Debian
# has it only in the prometheus package, whose installation would also start a Prometheus server:
# only promtool is taken out of the package, into .build-tools/bin (not on PATH, not committed).
tools="$(cd "$(dirname "$0")/.." && pwd)/.build-tools"
if ! command -v promtool >/dev/null && [ ! -x "$tools/bin/promtool" ]; then
    tmp=$(mktemp -d)
    fetch() { (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1); }
    if ! fetch; then
        # The package lists may never have been fetched on this machine.
        "${sudo_cmd[@]}" apt-get update -q >/dev/null 2>&1 || true
        fetch || true
    fi
    if ls "$tmp"/prometheus_*.deb >/dev/null 2>&1 && dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root"; then
        mkdir -p "$tools/bin" && cp "$tmp/root/usr/bin/promtool" "$tools/bin/promtool"
    else
        echo "note: could not fetch promtool (Debian's prometheus package); the promtool checks are skipped"
    fi
    rm -rf "$tmp"
fi
