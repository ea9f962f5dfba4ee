"""Benchmark ``decnet-audit merge`` on a swarm's reports.

    python benchmarks/merge_bench.py --hosts 100 --hosts 250 --hosts 500 --deckies 200

For each number of hosts H (ascending) it writes H workers' JSON reports of
D deckies each and their master's report (placing all H x D deckies, with a
shard each), exactly as decnet-audit writes them (its engine and JSON
reporter over in-memory fleets: tests/kit/swarm.py), with a little drift:
about 1% of deckies down, one decky running on two workers, one worker's
report 30 hours old. Then it runs ``decnet-audit merge --json`` over them
``--reps`` times after an untimed warm-up, and prints the median wall and
CPU time, the peak RSS, the input size and time per report, so linearity
reads off the rows. Wall time is spawn to exit; RSS is the merge process's
ru_maxrss (taken by launcher.py, which forks it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAUNCHER = subprocess.Popen([sys.executable, str(HERE / "launcher.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True) if __name__ == "__main__" else None
sys.path.insert(0, str(HERE.parent / "tests"))


def write_reports(out: Path, hosts: int, deckies: int) -> list[Path]:
    from kit.swarm import Host, master_of

    now = datetime.now(UTC)
    workers = []
    for i in range(hosts):
        w = Host(f"worker-{i:04d}", f"w{i:04d}.example")
        for j in range(deckies):
            n = i * deckies + j
            w.runs(f"d{i:04d}-{j:03d}", f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
                   running=n % 97 != 5)
        workers.append(w)
    master = master_of(workers)
    workers[-1].runs(workers[0].entries[0]["name"], "10.255.0.1")  # on two hosts
    paths = [master.report(out / "master.json", now)]
    for w in workers:
        started = now - timedelta(hours=30) if w is workers[1] else now
        paths.append(w.report(out / f"{w.uuid}.json", started))
    return paths


def measure(cmd: list[str], cwd: Path) -> dict:
    LAUNCHER.stdin.write(json.dumps({"cmd": cmd, "cwd": str(cwd),
                                     "stderr": str(cwd / "merge.stderr")}) + "\n")
    LAUNCHER.stdin.flush()
    return json.loads(LAUNCHER.stdout.readline())


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--hosts", type=int, action="append", default=[])
    p.add_argument("--deckies", type=int, default=200)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args(argv)
    exe = str(Path(sys.executable).with_name("decnet-audit"))
    print(f"{'hosts':>6} {'deckies':>8} {'input MB':>9} {'wall s':>7} {'cpu s':>6} "
          f"{'RSS MB':>7} {'ms/report':>9} {'findings':>8}")
    for hosts in sorted(args.hosts or [500]):
        with tempfile.TemporaryDirectory(prefix="swm_merge_bench_") as tmp:
            out = Path(tmp)
            paths = write_reports(out, hosts, args.deckies)
            size = sum(p.stat().st_size for p in paths) / 1e6
            cmd = [exe, "merge", *map(str, paths), "-q", "--json", str(out / "fleet.json")]
            runs = []
            for _ in range(args.reps + 1):
                # Each run must write its own report, and say nothing on stderr:
                # a crash also exits 1, like the drift this fleet has.
                (out / "fleet.json").unlink(missing_ok=True)
                r = measure(cmd, out)
                err = (out / "merge.stderr").read_text()
                if r["rc"] != 1 or err or not (out / "fleet.json").exists():
                    raise SystemExit(f"merge exited {r['rc']} (expected 1: planted drift)\n{err}")
                runs.append(r)
            runs = runs[1:]
            fleet = json.loads((out / "fleet.json").read_text())
            wall = statistics.median(r["wall"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            rss = max(r["maxrss_kb"] for r in runs) / 1024
            print(f"{hosts:>6} {hosts * args.deckies:>8} {size:>9.1f} {wall:>7.2f} {cpu:>6.2f} "
                  f"{rss:>7.0f} {1000 * wall / len(paths):>9.2f} {len(fleet['findings']):>8}",
                  flush=True)
    LAUNCHER.stdin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
