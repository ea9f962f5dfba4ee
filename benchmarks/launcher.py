"""Runs the benchmarked processes and measures each, on behalf of fleet_bench.

Linux carries a process's peak RSS across fork and exec: a child forked from
the benchmark (which holds the fleet's plan, hundreds of MB at N=10,000)
would report at least the benchmark's own peak. This launcher is started
before the benchmark grows, stays small, and forks every measured process
itself.

Protocol, one JSON object per line: ``{"cmd": [...], "cwd": ..., "stderr":
path}`` on stdin (optionally ``"stdout": path``, else the child's output is
discarded); ``{"rc", "wall", "cpu", "maxrss_kb"}`` on stdout. The child's
stdin is /dev/null: the launcher's own stdin is the protocol.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def run(job: dict) -> dict:
    out_path = job.get("stdout") or os.devnull
    with open(job["stderr"], "wb") as err, open(out_path, "wb") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(job["cmd"], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             cwd=job["cwd"], env={**os.environ, **job.get("env", {})})
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return {"rc": p.returncode, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "maxrss_kb": usage.ru_maxrss}


def main() -> int:
    for line in sys.stdin:
        sys.stdout.write(json.dumps(run(json.loads(line))) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
