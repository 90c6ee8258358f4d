#!/usr/bin/env python3
"""An external trainer for updater that trains XGBoost on a Dask cluster (trainer contract v1).

Needs: xgboost, dask[distributed], pandas, on this host and on every worker (the same versions).
    pip install xgboost "dask[distributed]" pandas

The scheduler's address comes from the job's [training.env]:

    [training]
    command = ["python3", "/opt/updater/examples/trainer_dask.py"]
    time_limit = "2h"

    [training.env]
    DASK_SCHEDULER = "tcp://10.0.0.5:8786"

How the data reaches the workers: updater writes the run's CSV files on this host; this program
reads them here and sends the rows to the workers over the Dask connection (dask.dataframe
partitions), so workers need no shared disk and no access to the state directory. For data too big
for one host, point the trainer at the same batches in object storage instead (the spec's file
names are the batches' SHA-256, which is how they are stored in STATE/batches/JOB/) and read them
with dask.dataframe.read_csv("s3://…") on the workers.

The model is the same as Jobs/examples/trainer_xgboost.py's (whose reading, category levels and
saving it imports): XGBoost's distributed training (xgboost.dask) over every worker's partitions,
continued from the parent's trees in incremental mode. Scoring the evaluation rows happens here,
with the trained booster. Settings as trainer_xgboost.py's, plus DASK_PARTITIONS (default: one per
worker). On SIGTERM (updater's time limit or a cancelled run) the client closes, which stops the
cluster's work for this run.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trainer_xgboost as base  # noqa: E402


def main():
    try:
        import dask.dataframe as dd
        import numpy as np
        import pandas as pd
        import xgboost as xgb
        import xgboost.dask  # noqa: F401  (xgb.dask)
        from dask.distributed import Client
    except ImportError as e:
        raise base.Problem(f"{e}: install xgboost, dask[distributed] and pandas (see docs/trainers.md)")
    started = time.monotonic()
    spec = base.load_spec()
    address = os.environ.get("DASK_SCHEDULER")
    if not address:
        raise base.Problem("DASK_SCHEDULER is not set: give the scheduler's address in the job's [training.env]")
    mode = spec["mode"]
    booster, levels = base.parent(spec) if mode != "full" else (None, None)
    data = base.Data(spec, levels)
    if mode != "score":
        client = Client(address, timeout="60s")
        # updater's SIGTERM (time limit, cancel): close the client, so the cluster drops this run's work.
        signal.signal(signal.SIGTERM, lambda *_: (client.close(), sys.exit(143)))
        try:
            workers = len(client.scheduler_info()["workers"])
            if workers == 0:
                raise base.Problem(f"the Dask cluster at {address} has no workers")
            base.say(f"{spec['job']} run {spec['run']}: {mode} mode, XGBoost {xgb.__version__} on {workers} Dask workers at {address}")
            paths = data.training_files(spec)
            frames = [data.read(p) for p in paths]
            data.fix_levels(frames)
            frame = pd.concat(frames, ignore_index=True)
            y = pd.Series(np.concatenate([data.y(f, p) for f, p in zip(frames, paths)]), name="y")
            partitions = int(os.environ.get("DASK_PARTITIONS", str(workers)))
            x = dd.from_pandas(data.x(frame), npartitions=partitions)
            label = dd.from_pandas(y, npartitions=partitions)
            x, label = client.persist([x, label])
            dtrain = xgb.dask.DaskDMatrix(client, x, label, enable_categorical=True)
            rounds = int(os.environ.get("XGB_ROUNDS" if mode == "full" else "XGB_INCREMENTAL_ROUNDS", "200" if mode == "full" else "50"))
            result = xgb.dask.train(client, base.params(spec), dtrain, num_boost_round=rounds, xgb_model=booster)
            booster = result["booster"]
        finally:
            client.close()
        base.save(spec, booster, data, len(frame), "trainer_dask.py")
    else:
        base.say(f"{spec['job']} run {spec['run']}: score mode, XGBoost {xgb.__version__} (here, no cluster needed)")
    evaluation = data.read(spec["data"]["evaluation"], with_label=False)
    scores = booster.predict(xgb.DMatrix(data.x(evaluation), enable_categorical=True))
    base.write_scores(spec, scores)
    base.say(f"scored {len(scores)} evaluation rows in {time.monotonic() - started:.2f}s")


if __name__ == "__main__":
    try:
        main()
    except base.Problem as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        sys.exit(2)
