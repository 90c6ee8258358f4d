#!/bin/sh
# A deploy command: tells a model server to load the model updater just published, and checks that
# it did. For a job with deploy.format = "onnx", served by Jobs/examples/serve_onnx.py:
#
#   [deploy]
#   path = "/srv/models/churn.onnx"
#   format = "onnx"
#   command = ["/opt/updater/examples/deploy_reload.sh", "http://127.0.0.1:8500"]
#
# updater runs it after every promotion, rollback, forced promotion and repair, with UPDATER_JOB,
# UPDATER_VERSION, UPDATER_EVENT, UPDATER_DEPLOY_PATH, UPDATER_SHA256, … in its environment
# (docs/jobs.md, [deploy]). A non-zero exit is reported (deploy.hook_failed) and retried at the
# job's next cycle.
set -eu
server=${1:?usage: deploy_reload.sh SERVER_URL}
echo "$UPDATER_EVENT: asking $server to load v$UPDATER_VERSION of $UPDATER_JOB ($UPDATER_DEPLOY_PATH)"
answer=$(curl -fsS --max-time 20 -X POST "$server/reload") || { echo "the server did not reload" >&2; exit 1; }
echo "server: $answer"
case "$answer" in
*"\"sha256\": \"$UPDATER_SHA256\""*) echo "serving v$UPDATER_VERSION" ;;
*) echo "the server loaded another file than the one published (expected sha256 $UPDATER_SHA256)" >&2; exit 1 ;;
esac
