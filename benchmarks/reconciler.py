"""DECNET 1.0.0's own reconciler as a benchmarked process (kind ``decnet``).

The benchmark never imports DECNET. It runs the project's conformance driver
(``tests/conformance/driver.py``, AGPL, a separate program) under DECNET's
interpreter, from the virtualenv ``tests/conformance/decnet_venv.py`` builds
for the tests, with one command: ``reconcile_timed``, one
``fleet.reconciler.reconcile_once`` pass over this fleet's state file and
database, listing the whole engine as it does on a host of its own.

Two figures per run: the whole process (spawn to exit, CPU and peak RSS, as
every other kind), and the ``reconcile_once`` call alone, timed inside the
driver (``perf_counter``, ``process_time``): what one tick of a long-running
DECNET costs, without its ~1 s of imports.

The pass is timed on a steady fleet. The planted drift would make the pass
write rows (inserts, deletes, state updates), which costs more than a
steady tick; so DECNET's reconciler first converges a copy of the database
once, untimed, and every timed pass must then write nothing. decnet-audit is
timed on that same copy (kind ``audit-st``), so both read the same rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import benchfleet as bf

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / "tests" / "conformance" / "driver.py"
QUIET = {"inserted": 0, "deleted": 0, "state_updated": 0}
# What DECNET's converging tick must do to the planted drift; the other
# classes are outside what the reconciler looks at (addresses, peer rows,
# unlabelled or orphaned containers).
CONVERGES = {"inserted": (bf.JSON_ONLY,), "deleted": (bf.DB_ONLY,),
             "state_updated": (bf.DOCKER_MISMATCH, bf.STALE)}
CONVERGED_RULES = ("json-only", "db-only", "docker-mismatch", "stale-observation")


def interpreter() -> tuple[Path | None, str]:
    """DECNET's interpreter (built like the tests' if missing), or the reason
    there is none."""
    sys.path.insert(0, str(DRIVER.parent))
    import decnet_venv

    try:
        return decnet_venv.ensure(), str(decnet_venv.location())
    except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
        return None, f"{decnet_venv.location()}: {exc}"


def driver_db(backend: str, url: str) -> dict:
    """The driver's description of a database decnet-audit reaches at ``url``
    (DECNET's own async drivers)."""
    if backend == "sqlite":
        return {"type": "sqlite", "path": url.removeprefix("sqlite:///")}
    return {"type": "mysql", "url": url.replace("mysql+pymysql://", "mysql+asyncmy://", 1)}


def command_file(workdir: Path, backend: str, db: dict, state: Path, docker_host: str) -> Path:
    path = workdir / f"decnet-{backend}.cmd.json"
    path.write_text(json.dumps({"op": "reconcile_timed", "db": db, "state_file": str(state),
                                "docker_host": docker_host, "host_uuid": bf.LOCAL}))
    return path


def answer(text: str, what: str) -> dict:
    try:
        got = json.loads(text)
    except json.JSONDecodeError:
        sys.exit(f"{what}: the driver printed no answer: {text[-500:]!r}")
    if not got.get("ok"):
        sys.exit(f"{what}: {got.get('error')}\n{got.get('trace', '')}")
    return got["result"]


def steady_copy(python: Path, backend: str, args, db_name: str, workdir: Path,
                state: Path, deckies: list) -> str:
    """A copy of the benchmark's database after one DECNET tick (untimed,
    checked against the planted drift); returns its URL for decnet-audit."""
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{workdir / 'steady.db'}{suffix}").unlink(missing_ok=True)
        steady = bf.copy_sqlite(workdir / "decnet.db", workdir / "steady.db")
    else:
        steady = bf.copy_mariadb(args.mysql_url, db_name, f"{db_name}_steady")
    cmd = command_file(workdir, backend, driver_db(backend, steady), state, args.docker_host)
    run = subprocess.run([str(python), str(DRIVER), str(cmd)], capture_output=True, text=True,
                         cwd=workdir)
    counts = answer(run.stdout, f"decnet/{backend} converging tick")["counts"]
    kinds = Counter(d.kind for d in deckies)
    want = {k: sum(kinds[c] for c in classes) for k, classes in CONVERGES.items()}
    if counts != want:
        sys.exit(f"decnet/{backend}: DECNET's converging tick did {counts}, expected {want}")
    print(f"  decnet/{backend}: DECNET's converging tick (untimed) on a copy: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return steady


def variants(variant_cls, python: Path, backend: str, steady_url: str, state: Path,
             docker_host: str, workdir: Path, audit_cmd: list[str]) -> list:
    cmd = command_file(workdir, backend, driver_db(backend, steady_url), state, docker_host)
    out = workdir / f"decnet-{backend}.out.json"
    decnet = variant_cls(f"decnet/{backend}", [str(python), str(DRIVER), str(cmd)], (0,),
                         stdout=out)

    def after() -> dict:  # every pass must be a steady one
        got = answer(out.read_text(), decnet.name)
        if got["counts"] != QUIET:
            sys.exit(f"{decnet.name}: the pass wrote rows ({got['counts']}): not steady")
        return {"call_wall": got["wall"], "call_cpu": got["cpu"]}

    decnet.after = after
    cmd = list(audit_cmd)
    cmd[cmd.index("--db") + 1] = steady_url
    cmd[-1] = str(workdir / f"audit-st-{backend}.json")
    return [decnet, variant_cls(f"audit-st/{backend}", cmd, (0, 1))]


def paired(variant_cls, python: Path, backend: str, args, db_name: str, workdir: Path,
           state: Path, deckies: list, audit_cmd: list[str]) -> list:
    """``decnet`` and ``audit-st`` on a converged copy of ``backend``'s database."""
    steady = steady_copy(python, backend, args, db_name, workdir, state, deckies)
    return variants(variant_cls, python, backend, steady, state, args.docker_host, workdir,
                    audit_cmd)


def check_steady(mine: Counter, backend: str) -> None:
    """``mine``: the audit's findings per rule on the converged copy."""
    left = {r: mine[r] for r in CONVERGED_RULES if mine[r]}
    if left:
        sys.exit(f"audit-st/{backend}: DECNET's converged copy still has {left}")
    print(f"  audit-st/{backend}: on DECNET's converged copy: "
          f"{', '.join(f'{r} {n}' for r, n in sorted(mine.items())) or 'no findings'}")


def ratios(variants: dict, med) -> dict:
    """decnet over decnet-audit on the same steady copy: whole processes,
    and the reconcile_once call alone over the whole audit process."""
    dn, au = variants["decnet"], variants["audit-st"]
    return {
        "decnet/audit wall": med(dn.walls) / med(au.walls),
        "decnet/audit cpu": med(dn.cpus) / med(au.cpus),
        "call/audit wall": med(dn.extra["call_wall"]) / med(au.walls),
        "call/audit cpu": med(dn.extra["call_cpu"]) / med(au.cpus),
    }


def report(variants: dict, med) -> dict:
    dn = variants["decnet"]
    print(f"    reconcile_once call alone (inside the driver): wall med "
          f"{med(dn.extra['call_wall']):.3f}s, cpu med {med(dn.extra['call_cpu']):.3f}s")
    out = ratios(variants, med)
    for name, value in out.items():
        print(f"    {name:<18} {value:7.2f}")
    return out
