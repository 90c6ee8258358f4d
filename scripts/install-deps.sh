#!/usr/bin/env bash
# Installs what building and testing updater needs on Debian/Ubuntu, if it is missing:
# the SQLite development files. Swift itself must already be on PATH.
set -euo pipefail

need=()
for pkg in libsqlite3-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${need[@]}"
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.2 or later (https://swift.org/install)" >&2; exit 1; }
