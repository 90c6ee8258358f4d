#!/bin/sh
# A deploy command: copies the published model into an object store's layout, as a model registry
# or a fleet of servers reads it:
#
#   BUCKET/models/JOB/vVERSION/FILE           every published file (model.onnx, churn.model, …)
#   BUCKET/models/JOB/vVERSION/FILE.json      its metadata
#   BUCKET/models/JOB/latest.json             which version serves now (written last)
#
# Here BUCKET is a directory standing in for a bucket (s3://BUCKET/models/... keys), so it can be
# tested offline; for a real store, replace the two copy commands with `aws s3 cp` or `gsutil cp`
# (the key layout stays). Usage in a job file:
#
#   [deploy]
#   path = "deploy/churn.model"
#   format = ["updater", "onnx"]
#   command = ["/opt/updater/examples/deploy_object_store.sh", "/srv/bucket"]
set -eu
bucket=${1:?usage: deploy_object_store.sh BUCKET_DIR}
prefix="$bucket/models/$UPDATER_JOB/v$UPDATER_VERSION"
mkdir -p "$prefix"
# Every published file and its metadata (UPDATER_FILES is JSON: [{"path": …, "format": …, "sha256": …}]).
for path in $(printf '%s' "$UPDATER_FILES" | python3 -c 'import json, sys; print("\n".join(f["path"] for f in json.load(sys.stdin)))'); do
    name=$(basename "$path")
    cp "$path" "$prefix/.$name.part" && mv "$prefix/.$name.part" "$prefix/$name"
    cp "$path.json" "$prefix/.$name.json.part" && mv "$prefix/.$name.json.part" "$prefix/$name.json"
    echo "copied $path to $prefix/$name"
done
# The pointer last, so a reader never sees a version whose files are not all there.
printf '{"job": "%s", "version": %s, "event": "%s", "sha256": "%s"}\n' \
    "$UPDATER_JOB" "$UPDATER_VERSION" "$UPDATER_EVENT" "$UPDATER_SHA256" > "$bucket/models/$UPDATER_JOB/.latest.json.part"
mv "$bucket/models/$UPDATER_JOB/.latest.json.part" "$bucket/models/$UPDATER_JOB/latest.json"
echo "latest: v$UPDATER_VERSION"
