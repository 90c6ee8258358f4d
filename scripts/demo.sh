#!/usr/bin/env bash
# The README's first command ends here: runs the real daemon on the bundled example job
# (Jobs/churn.toml) and feeds it three batches from Jobs/churn/data/, so that a newcomer sees
#   batch 1 → version 1 trained and promoted
#   batch 2 (twice the rows; customers changed: feature drift) → warm-up retrain → gate → version 2 promoted
#   batch 3 (labels no longer follow the features: concept drift) → retrain on batch 3 alone → gate rejects v3
#   updater rollback → version 1 back in production, with an audit record
# State goes to .updater-demo/ so it never mixes with a real ./.updater.
set -euo pipefail
cd "$(dirname "$0")/.."

updater=.build/debug/updater
export UPDATER_STATE_DIR=.updater-demo
incoming=Jobs/churn/incoming
rm -rf "$UPDATER_STATE_DIR" Jobs/churn/deploy
rm -f "$incoming"/*.csv

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ updater %s\033[0m\n' "$*"; "$updater" "$@"; }

# Waits until the job has $1 finished runs.
wait_for_runs() {
    for _ in $(seq 1 300); do
        local done
        done=$("$updater" runs churn --json 2>/dev/null | grep -cE '"state" : "(succeeded|failed|rejected)"' || true)
        [ "$done" -ge "$1" ] && return 0
        sleep 0.1
    done
    echo "the daemon did not finish run $1 in 30 s" >&2
    exit 1
}

# Delivers a batch the way producers should: write under a hidden name, then rename.
deliver() {
    cp "Jobs/churn/data/$1" "$incoming/.$1.part"
    mv "$incoming/.$1.part" "$incoming/$1"
    sleep 2.2 # data.settle_time: a file is read once it has not changed for 2 s
}

say "Check the job file"
show validate Jobs

say "Start the daemon (updater run) in the background; its log lines are the ones without a \$"
"$updater" run --jobs Jobs &
daemon=$!
trap 'kill "$daemon" 2>/dev/null || true' EXIT

say "Batch 1 arrives: no model yet, so a full training; the gate decides on held-out rows"
deliver batch-01-initial.csv
show trigger churn
wait_for_runs 1

say "Batch 2 arrives: twice the rows, and customers pay more and call support more (feature drift)"
deliver batch-02-shifted.csv
show trigger churn
wait_for_runs 2

say "Batch 3 arrives: its labels no longer follow the features (concept drift); the candidate must fail the gate"
deliver batch-03-relabelled.csv
show trigger churn
wait_for_runs 3

say "What happened"
show runs churn
show versions churn
show runs churn --run 3

say "Roll back to the previous version while the daemon runs"
show rollback churn --reason "demo: undo v2"
cmp -s Jobs/churn/deploy/churn.model "$UPDATER_STATE_DIR/models/churn/v1.model" &&
    echo "Jobs/churn/deploy/churn.model is byte-identical to v1's artifact"
show history churn

say "Stop the daemon (SIGTERM)"
kill -TERM "$daemon"
wait "$daemon"
trap - EXIT
echo "state is in $UPDATER_STATE_DIR/; try: $updater status --state-dir $UPDATER_STATE_DIR"
