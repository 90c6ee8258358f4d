"""How the benchmarks run a whole `updater` process: `run` times it, `peak_mb` takes its peak RSS.

They are separate runs. A child's peak RSS as the kernel accounts it (wait4's rusage) starts from
the RSS of the process that spawned it, which here is Python with numpy and pandas loaded, so the
peak is taken under `/usr/bin/time -f %M`, a small process in between. That process's own start
and wait cost 0.6–4 ms on this VM (more when the machine is busy), which is 1–8 % of a 100k-row
run; so the timed runs spawn updater directly (posix_spawn to exit, output to temporary files read
after) and nothing else is inside the timed span.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str
    wall: float


def run(cmd: list[str]) -> Run:
    """Runs `cmd` (cmd[0] a path) to its end, timed from its spawn to its exit."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        actions = [(os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)]
        t0 = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=actions)
        _, status, _ = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return Run(os.waitstatus_to_exitcode(status), out.read().decode(), err.read().decode(), wall)


def peak_mb(cmd: list[str]) -> float:
    """The peak RSS (MB) of one run of `cmd`, which must succeed."""
    r = run(["/usr/bin/time", "-f", "%M", *cmd])
    if r.status != 0:
        raise SystemExit(f"{cmd[0]} failed: {r.stderr}")
    return int(r.stderr.strip().splitlines()[-1]) / 1024


def print_net_of_fixed(per_million: list[float], sizes: list[int], fixed: float, fixed_rows: int) -> None:
    """Prints the seconds per million rows at each of `sizes` net of a run's fixed cost (`fixed`
    seconds: the same command on `fixed_rows` rows), and their spread against the 20 % goal."""
    net = [(spm * rows / 1e6 - fixed) / (rows / 1e6) for spm, rows in zip(per_million, sizes)]
    spread = max(net) / min(net)
    print(f"a run's fixed cost (the same command on {fixed_rows:,} rows): {1000 * fixed:.1f} ms; net of it: "
          + ", ".join(f"{s:.2f}" for s in net) + f" s per million rows; largest / smallest = {spread:.2f}"
          + f"   [within 20%: {'met' if spread <= 1.2 else 'NOT met'}]")
