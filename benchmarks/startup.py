"""How long decnet-audit takes to answer before it reads anything.

    .venv/bin/python benchmarks/startup.py [--reps 15] [--exe PATH]

Times whole processes, one after another after one untimed warm-up each:
``--version``, ``--help``, ``--list-rules``, a usage error (``--fi``), and a
bare ``python -c pass`` as the interpreter's own floor. Wall time is from
spawn to exit, CPU the child's user+sys. Prints medians.

Run it with the bytecode cache allowed (a pip install compiles it; a
sandbox's PYTHONDONTWRITEBYTECODE=1 would time the compiler instead): the
children get the environment without that variable.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = (("--version", ["--version"]), ("--help", ["--help"]),
         ("--list-rules", ["--list-rules"]), ("usage error", ["--fi"]))


def timed(cmd: list[str], env: dict, reps: int) -> tuple[float, float]:
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    walls, cpus = [], []
    for _ in range(reps):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--exe", default=str(Path(sys.executable).with_name("decnet-audit")),
                    help="the decnet-audit script (default: beside this Python)")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    print(f"{'':<14} {'wall s':>7} {'cpu s':>7}   (medians of {args.reps}, "
          f"load {os.getloadavg()[0]:.1f})")
    wall, cpu = timed([sys.executable, "-c", "pass"], env, args.reps)
    print(f"{'python floor':<14} {wall:7.3f} {cpu:7.3f}")
    for label, argv in CASES:
        wall, cpu = timed([args.exe, *argv], env, args.reps)
        print(f"{label:<14} {wall:7.3f} {cpu:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
