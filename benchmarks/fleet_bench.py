"""Benchmark decnet-audit on a real fleet on a real Docker engine.

    DOCKER_HOST=unix:///run/decnet-audit/docker.sock \\
        python benchmarks/fleet_bench.py --n 1000 --n 5000

For each size N (ascending; the fleet grows in place) it builds N deckies with
two service containers each (created, not started), a state file, and a
``fleet_deckies`` table in SQLite and, when reachable, MariaDB, with about 1%
of each drift class. Then it runs these processes, alternating, ``--reps``
times each after one untimed warm-up, and prints medians and ratios:

    audit   decnet-audit -q --json (the whole process)
    floor   benchmarks/floor.py: load the state file, one SELECT, one raw listing
    n+1     the same, listing with the SDK's containers.list(all=True)
    fix     decnet-audit --fix on a fresh copy of the database (once --fix exists)
    decnet  DECNET 1.0.0's reconcile_once, one steady pass (reconciler.py), and
            audit-st: decnet-audit on the same converged copy of the database

Wall time is from spawn to exit; CPU is the child's user+sys; peak RSS is the
child's ru_maxrss, taken by a small launcher process (launcher.py). The
audit's report is checked against the planted drift before anything is timed.
Containers are labelled ``decnet-audit.bench=<prefix>`` and removed at the end
unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Started before anything grows this process: see launcher.py (peak RSS).
LAUNCHER = subprocess.Popen([sys.executable, str(HERE / "launcher.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True) if __name__ == "__main__" else None

import benchfleet as bf  # noqa: E402 - after the launcher, on purpose
import reconciler  # noqa: E402
from report import check_report, findings_by_rule, fmt_load, report_linearity, report_size  # noqa: E402,E501

AUDIT_EXE = str(Path(sys.executable).with_name("decnet-audit"))


@dataclass
class Variant:
    name: str
    cmd: list[str]
    ok_codes: tuple[int, ...]
    prepare: object = None  # untimed, before every run (a fresh database copy)
    stdout: Path | None = None  # where the child's output goes (else discarded)
    after: object = None  # untimed, after every run: checks it, returns extra figures
    last: dict = field(default_factory=dict)  # after()'s figures of the latest run
    extra: dict = field(default_factory=dict)  # name -> figures of the timed runs
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)


def run_once(v: Variant, workdir: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (KB) of one run of ``v``."""
    if v.prepare:
        v.prepare()
    err = workdir / "stderr.txt"
    LAUNCHER.stdin.write(json.dumps({"cmd": v.cmd, "cwd": str(workdir), "stderr": str(err),
                                     "stdout": str(v.stdout) if v.stdout else None,
                                     "env": {"NO_COLOR": "1"}}) + "\n")
    LAUNCHER.stdin.flush()
    got = json.loads(LAUNCHER.stdout.readline())
    if got["rc"] not in v.ok_codes:
        sys.exit(f"{v.name}: exit {got['rc']}\n  {' '.join(v.cmd)}\n{err.read_text()[-3000:]}")
    if v.after:
        v.last = v.after()
    return got["wall"], got["cpu"], got["maxrss_kb"]


def fix_flags() -> list[str] | None:
    """``--fix``, or None while the CLI has none. Never ``--unsafe-fixes``: on
    an engine other people use, orphan-container would remove their
    (DECNET-labelled) containers. The safe fixes insert the json-only rows
    and update the docker-mismatch ones."""
    out = subprocess.run([AUDIT_EXE, "--help"], capture_output=True, text=True).stdout
    return ["--fix"] if "--fix" in out else None


def variants_for(backend: str, url: str, fix_url: str, prepare_fix, state: Path,
                 docker_host: str, workdir: Path, fix: list[str] | None) -> list[Variant]:
    src = ["--state", str(state), "--docker-host", docker_host]
    floor = [sys.executable, str(HERE / "floor.py"), *src, "--db", url]
    out = [
        Variant(f"audit/{backend}", [AUDIT_EXE, *src, "--db", url, "-q",
                                     "--json", str(workdir / f"audit-{backend}.json")], (1,)),
        Variant(f"floor/{backend}", [*floor, "--listing", "raw"], (0,)),
        Variant(f"n+1/{backend}", [*floor, "--listing", "sdk"], (0,)),
    ]
    if fix is not None:
        journal = workdir / f"fix-journal-{backend}.json"

        def prepare():
            journal.unlink(missing_ok=True)
            prepare_fix()

        out.append(Variant(f"fix/{backend}", [AUDIT_EXE, *src, "--db", fix_url, "-q", *fix,
                                              "--journal", str(journal),
                                              "--json", str(workdir / f"fix-{backend}.json")],
                           (0, 1), prepare))
    return out


def measure(variants: list[Variant], reps: int, workdir: Path) -> None:
    for v in variants:  # warm-up: page cache, .pyc files, the engine's own caches
        run_once(v, workdir)
    for rep in range(reps):
        shift = rep % len(variants)  # rotate, so no variant always runs first
        for v in variants[shift:] + variants[:shift]:
            wall, cpu, rss = run_once(v, workdir)
            v.walls.append(wall)
            v.cpus.append(cpu)
            v.rss_kb.append(rss)
            for name, value in v.last.items():
                v.extra.setdefault(name, []).append(value)


def mariadb_reachable(url: str) -> str | None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any reason means "not here"
        return f"{type(exc).__name__}: {exc}"
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--n", type=int, action="append",
                   help="deckies (repeatable; default 1000)")
    p.add_argument("--reps", type=int, default=5, help="timed runs of each process (5)")
    p.add_argument("--prefix", default="dabench",
                   help="decky name prefix and container label value (dabench)")
    p.add_argument("--keep", action="store_true",
                   help="leave the containers for the next run (it reuses them)")
    p.add_argument("--base", action="store_true",
                   help="also create each decky's base container (3 per decky)")
    p.add_argument("--docker-host",
                   default=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
    p.add_argument("--mysql-url", default=bf.MYSQL_URL,
                   help="MariaDB server URL, no database (default: %(default)s)")
    p.add_argument("--no-mariadb", action="store_true", help="SQLite only")
    p.add_argument("--workdir", type=Path, default=None,
                   help="state file, SQLite files and reports (/tmp/decnet-audit-<prefix>)")
    p.add_argument("--skip", default="", metavar="KINDS",
                   help="comma-separated kinds not to run: floor, n+1, fix, decnet (n+1 "
                        "and decnet take a minute a run at N=10,000)")
    p.add_argument("--db-name", default=None,
                   help="MariaDB database (and its copies' prefix; default decnet_audit_<prefix>)")
    p.add_argument("--out", type=Path, help="also write every timing as JSON here")
    args = p.parse_args(argv)
    sizes = sorted(set(args.n or [1000]))
    workdir = args.workdir or Path(f"/tmp/decnet-audit-{args.prefix}")
    workdir.mkdir(parents=True, exist_ok=True)

    import docker

    api = docker.APIClient(base_url=args.docker_host, timeout=300)
    backends = ["sqlite"]
    if not args.no_mariadb:
        why = mariadb_reachable(args.mysql_url)
        if why:
            print(f"MariaDB not measured ({bf.mask(args.mysql_url)}): {why}")
        else:
            backends.append("mariadb")
    fix = fix_flags()
    print(f"decnet-audit benchmark: sizes {sizes}, {args.reps} reps, backends {backends}, "
          f"engine {args.docker_host}, {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    print(f"fix: {' '.join(fix) if fix else 'not measured (decnet-audit has no --fix yet)'}")

    db_name = args.db_name or f"decnet_audit_{args.prefix}"
    skip = {k.strip() for k in args.skip.split(",") if k.strip()}
    decnet_python = None
    if "decnet" not in skip:
        decnet_python, where = reconciler.interpreter()
        print(f"decnet: DECNET 1.0.0's reconciler under {decnet_python}" if decnet_python
              else f"decnet: not measured (no DECNET 1.0.0 virtualenv: {where})")
    results: dict[int, dict] = {}
    try:
        for n in sizes:
            results[n] = run_size(n, args, api, workdir, backends, fix, db_name, decnet_python)
        report_linearity(results)
    finally:
        if "mariadb" in backends:
            bf.drop_mariadb(args.mysql_url, db_name, f"{db_name}_fix", f"{db_name}_steady")
        if args.keep:
            print(f"\nkept {len(bf.own_containers(api, args.prefix))} containers "
                  f"(label {bf.BENCH_LABEL}={args.prefix})")
        else:
            print(f"\nremoved {bf.remove_containers(api, args.prefix)} benchmark containers")
        api.close()
        LAUNCHER.stdin.close()
        LAUNCHER.wait()
    if args.out:
        args.out.write_text(json.dumps({str(k): v for k, v in results.items()}, indent=1))
    return 0


def run_size(n, args, api, workdir, backends, fix, db_name, decnet_python) -> dict:
    print(f"\n== N = {n:,} deckies ==")
    t0 = time.perf_counter()
    deckies = bf.plan(args.prefix, n)
    fleet = bf.sync_containers(api, args.prefix, deckies, args.base)
    state = workdir / "decnet-state.json"
    (workdir / ".decnet-audit.toml").write_text(bf.STALE_CONFIG)
    bf.write_state_file(state, deckies)
    urls = {"sqlite": bf.sqlite_database(workdir / "decnet.db", deckies)}
    prepare = {"sqlite": lambda: bf.copy_sqlite(workdir / "decnet.db", workdir / "fix.db")}
    fix_urls = {"sqlite": f"sqlite:///{workdir / 'fix.db'}"}
    if "mariadb" in backends:
        urls["mariadb"] = bf.mariadb_database(args.mysql_url, db_name, deckies)
        fix_urls["mariadb"] = f"{args.mysql_url}/{db_name}_fix"
        prepare["mariadb"] = lambda: bf.copy_mariadb(args.mysql_url, db_name, f"{db_name}_fix")
    total = len(api.containers(all=True))
    in_state = sum(d.in_state for d in deckies)
    print(f"  built in {time.perf_counter() - t0:.0f}s: {fleet:,} benchmark containers "
          f"({total:,} on the engine), {in_state:,} deckies in the state file")
    expected = bf.expected_findings(deckies)
    skip = {k.strip() for k in args.skip.split(",") if k.strip()}
    out, decnet_pairs = {}, []
    for backend in backends:
        vs = variants_for(backend, urls[backend], fix_urls[backend], prepare[backend], state,
                          args.docker_host, workdir, fix)
        run_once(vs[0], workdir)
        check_report(workdir / f"audit-{backend}.json", expected, args.prefix,
                     f"audit/{backend}")
        if fix is not None and "fix" not in skip:
            check_fix(vs[-1], vs[0], fix_urls[backend], workdir, backend, args.prefix)
        if decnet_python:  # DECNET's reconciler, and the audit, on its converged copy
            pair = reconciler.paired(Variant, decnet_python, backend, args, db_name, workdir,
                                     state, deckies, vs[0].cmd)
            run_once(pair[1], workdir)
            reconciler.check_steady(findings_by_rule(Path(pair[1].cmd[-1]), args.prefix)[0],
                                    backend)
            decnet_pairs += pair
    variants = [v for backend in backends for v in variants_for(
        backend, urls[backend], fix_urls[backend], prepare[backend], state, args.docker_host,
        workdir, fix) if v.name.split("/")[0] not in skip] + decnet_pairs
    load0 = os.getloadavg()
    measure(variants, args.reps, workdir)
    load1 = os.getloadavg()
    print(f"  load average (1/5/15 min) before {fmt_load(load0)}, after {fmt_load(load1)}")
    for backend in backends:
        mine = {v.name.split("/")[0]: v for v in variants if v.name.endswith("/" + backend)}
        out[backend] = report_size(n, backend, mine)
    out["load"] = {"before": load0, "after": load1}
    return out


def check_fix(fix_variant: Variant, audit_variant: Variant, fix_url: str, workdir: Path,
              backend: str, prefix: str) -> None:
    """--fix must have converged what it can: re-audit the fixed copy (untimed)."""
    run_once(fix_variant, workdir)
    cmd = list(audit_variant.cmd)
    cmd[cmd.index("--db") + 1] = fix_url
    cmd[-1] = str(workdir / f"after-fix-{backend}.json")
    subprocess.run(cmd, stdout=subprocess.DEVNULL, cwd=workdir)
    fixed = json.loads((workdir / f"fix-{backend}.json").read_text())["summary"]["fixed"]
    left, _ = findings_by_rule(workdir / f"after-fix-{backend}.json", prefix)
    print(f"  fix/{backend}: {fixed} findings fixed; an audit of the fixed copy finds "
          f"{dict(left) or 'nothing'}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
