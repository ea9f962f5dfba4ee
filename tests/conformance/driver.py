# SPDX-License-Identifier: AGPL-3.0-or-later
"""The conformance driver: builds worlds with DECNET 1.0.0's own code.

This is the only program of the project that imports DECNET. It runs under
DECNET's interpreter (``.venv-decnet/bin/python``), never inside the
decnet-audit process, and talks JSON: one command object in, one answer
object out. ``--serve`` reads one command per line from stdin and answers one
line each, so a scenario with many reconciler ticks pays DECNET's import once.

A command is ``{"op": NAME, ...arguments}``; the answer is
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``. Ops are
plain functions registered in ``OPS`` with ``@op``; add one the same way.

Common arguments:
  ``db``: ``{"type": "sqlite", "path": P}`` or ``{"type": "mysql", "url": U}``
  (``mysql+asyncmy://`` as DECNET writes it);
  ``state_file``: the path DECNET's ``config.STATE_FILE`` is pointed at;
  ``docker_host``: the engine (default ``$DOCKER_HOST``);
  ``clock_offset``: seconds added to DECNET's ``datetime.now`` in the
  repository (a world written "in the past" has a negative offset).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import traceback
from datetime import datetime, timedelta
from pathlib import Path

# DECNET needs these at import time; values of our own, never a real secret.
os.environ.setdefault("DECNET_ADMIN_PASSWORD", "conformance-driver-admin")
os.environ.setdefault("DECNET_JWT_SECRET", "c" * 64)
# DECNET's logging adds a file handler in the cwd unless told where; keep it
# out of the checkout (DECNET_TESTING=1 would also switch its schema path
# away from Alembic, so it is not used).
os.environ.setdefault("DECNET_SYSTEM_LOGS",
                      str(Path(tempfile.gettempdir()) / "decnet-conformance-system.log"))

if Path.cwd().resolve().name == "decnet" or "site-packages" in str(Path.cwd()):
    # DECNET's own `logging` package would shadow the standard library's.
    os.chdir(tempfile.gettempdir())

import docker  # noqa: E402  (DECNET's environment has the SDK)
from decnet import config as dconfig  # noqa: E402
from decnet.composer import generate_compose  # noqa: E402
from decnet.config import DeckyConfig, DecnetConfig  # noqa: E402
from decnet.engine import deployer  # noqa: E402
from decnet.fleet import build_deckies_from_ini  # noqa: E402
from decnet.fleet.reconciler import reconcile_once  # noqa: E402
from decnet.models import IniConfig  # noqa: E402
from decnet.services.registry import all_services  # noqa: E402
from decnet.web.db.sqlmodel_repo import fleet as fleet_repo_module  # noqa: E402

OPS: dict = {}
IMAGE = os.environ.get("DECNET_AUDIT_TEST_IMAGE", "decnet-audit-busybox:latest")
_repos: dict = {}
_loop = asyncio.new_event_loop()


def op(fn):
    OPS[fn.__name__] = fn
    return fn


# -- DECNET's repository, on the world's database ---------------------------

class _ShiftedClock(datetime):
    """DECNET's repository module calls ``datetime.now(timezone.utc)``."""

    offset = timedelta(0)

    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + cls.offset


fleet_repo_module.datetime = _ShiftedClock


def _new_repo(db: dict):
    if db["type"] == "sqlite":
        from decnet.web.db.sqlite.repository import SQLiteRepository
        return SQLiteRepository(db_path=db["path"])
    from decnet.web.db.mysql.repository import MySQLRepository
    return MySQLRepository(url=db["url"])


def _repo(db: dict):
    key = json.dumps(db, sort_keys=True)
    if key not in _repos:
        _repos[key] = _new_repo(db)
    return _repos[key]


def _run(coro):
    return _loop.run_until_complete(coro)


def _with_clock(args: dict):
    _ShiftedClock.offset = timedelta(seconds=float(args.get("clock_offset") or 0))


def _state_file(args: dict) -> None:
    dconfig.STATE_FILE = Path(args["state_file"])


def _raw_rows(db: dict) -> list[dict]:
    """Every fleet_deckies row as stored: text as text, datetimes as DECNET's
    driver returns them (rendered with ``str``, so microseconds show)."""
    from sqlalchemy import text

    async def go():
        async with _repo(db).engine.connect() as conn:
            res = await conn.execute(text("SELECT * FROM fleet_deckies ORDER BY host_uuid, name"))
            return [dict(r._mapping) for r in res]
    return [{k: (None if v is None else v if isinstance(v, str) else str(v))
             for k, v in row.items()} for row in _run(go())]


# -- ops ---------------------------------------------------------------------

@op
def ping(args):
    from importlib.metadata import version
    return {"decnet": version("decnet"), "python": sys.version.split()[0]}


@op
def services(args):
    """DECNET's service registry: name, fleet_singleton, container name."""
    decky = args.get("decky", "d")
    out = []
    for name, svc in sorted(all_services().items()):
        frag = svc.compose_fragment(decky, service_cfg={})
        out.append({"name": name, "fleet_singleton": bool(svc.fleet_singleton),
                    "container_name": frag.get("container_name")})
    return out


@op
def decky_fields(args):
    """DeckyConfig's fields in declaration order (``model_dump``'s order)."""
    return list(DeckyConfig.model_fields)


@op
def build_fleet(args):
    """DeckyConfigs from DECNET's INI fleet builder (the API deploy's):
    ``deckies`` = [{name, ip?, services?, archetype?, nmap_os?}]."""
    ini = IniConfig(subnet=args.get("subnet", "10.77.0.0/24"),
                    gateway=args.get("gateway", "10.77.0.1"),
                    deckies=args["deckies"])
    built = build_deckies_from_ini(ini, ini.subnet, ini.gateway,
                                   args.get("host_ip", "10.77.0.254"), False)
    return [d.model_dump(mode="json") for d in built]


def _config(args) -> DecnetConfig:
    return DecnetConfig(mode=args.get("mode", "unihost"), interface=args.get("interface", "eth0"),
                        subnet=args.get("subnet", "10.77.0.0/24"),
                        gateway=args.get("gateway", "10.77.0.1"),
                        deckies=[DeckyConfig(**d) for d in args["deckies"]])


@op
def save_state(args):
    """``config.save_state`` of ``deckies`` (DeckyConfig dicts)."""
    _state_file(args)
    dconfig.save_state(_config(args), Path(args.get("compose_path", "/tmp/decnet-compose.yml")))
    return str(dconfig.STATE_FILE)


@op
def clear_state(args):
    _state_file(args)
    dconfig.clear_state()
    return None


@op
def init_db(args):
    """The schema through the repository's ``initialize()`` (Alembic)."""
    _run(_repo(args["db"]).initialize())
    return None


@op
def close_db(args):
    """Dispose of the repository's engine (SQLite then checkpoints its WAL,
    so the file alone holds the database)."""
    repo = _repos.pop(json.dumps(args["db"], sort_keys=True), None)
    if repo is not None:
        _run(repo.engine.dispose())
    return None


def _decky_configs(args) -> list[DeckyConfig]:
    return [DeckyConfig(**d) for d in args["deckies"]]


@op
def deploy_rows(args):
    """What ``decnet deploy`` writes to the DB: DECNET's own deploy mirror
    (``engine.deployer._mirror_fleet_deploy_to_db``), its canary seeding
    (which plants files into live containers) switched off."""
    _with_clock(args)
    from decnet.canary import planter
    from decnet.web.db import factory

    async def no_seed(*_a, **_k):
        return []
    saved = (factory.get_repository, planter.seed_baseline)
    # The mirror runs in its own thread and event loop: it needs a repository
    # of its own, bound to that loop.
    factory.get_repository = lambda **_k: _new_repo(args["db"])
    planter.seed_baseline = no_seed
    try:
        deployer._mirror_fleet_deploy_to_db(_config(args))
    finally:
        factory.get_repository, planter.seed_baseline = saved
    return None


@op
def teardown_rows(args):
    """What ``decnet teardown`` writes to the DB (DECNET's teardown mirror)."""
    from decnet.web.db import factory
    saved = factory.get_repository
    factory.get_repository = lambda **_k: _new_repo(args["db"])
    try:
        deployer._mirror_fleet_teardown_to_db(_decky_configs(args))
    finally:
        factory.get_repository = saved
    return None


@op
def api_deploy_rows(args):
    """The API deploy's row commit (``_commit_fleet_to_db``), replace mode
    with ``replace: true`` (it deletes every row not deployed, of any host)."""
    _with_clock(args)
    from decnet.web.router.fleet import api_deploy_deckies as api
    saved = api.repo
    api.repo = _repo(args["db"])
    try:
        _run(api._commit_fleet_to_db(_decky_configs(args),
                                     replace_fleet=bool(args.get("replace"))))
    finally:
        api.repo = saved
    return None


@op
def upsert(args):
    _with_clock(args)
    _run(_repo(args["db"]).upsert_fleet_decky(args["row"]))
    return None


@op
def delete(args):
    _run(_repo(args["db"]).delete_fleet_decky(host_uuid=args["host_uuid"], name=args["name"]))
    return None


@op
def update_state(args):
    _with_clock(args)
    _run(_repo(args["db"]).update_fleet_decky_state(
        host_uuid=args["host_uuid"], name=args["name"], state=args["state"],
        last_error=args.get("last_error")))
    return None


@op
def rows(args):
    return _raw_rows(args["db"])


@op
def snapshot(args):
    """Every fleet_deckies row exactly as stored (values as the driver returns
    them), for ``restore``: one world, two branches (DECNET converges it; or
    decnet-audit fixes it)."""
    from sqlalchemy import text

    async def go():
        async with _repo(args["db"]).engine.connect() as conn:
            res = await conn.execute(text("SELECT * FROM fleet_deckies"))
            return [dict(r._mapping) for r in res]
    key = args.get("key", "default")
    _snapshots[key] = _run(go())
    return len(_snapshots[key])


@op
def restore(args):
    """Put back the rows of ``snapshot``, value for value (not a DECNET write:
    the bytes DECNET wrote, copied back)."""
    from sqlalchemy import text
    saved = _snapshots[args.get("key", "default")]

    async def go():
        async with _repo(args["db"]).engine.begin() as conn:
            await conn.execute(text("DELETE FROM fleet_deckies"))
            for row in saved:
                cols = ", ".join(row)
                marks = ", ".join(f":{c}" for c in row)
                await conn.execute(text(f"INSERT INTO fleet_deckies ({cols}) VALUES ({marks})"),
                                   row)
    _run(go())
    return len(saved)


_snapshots: dict = {}


@op
def compose(args):
    """Containers as ``composer.generate_compose`` defines them: the base
    container and one per non-singleton service, with DECNET's labels and
    those ``docker compose -p PROJECT -f COMPOSE_PATH up`` adds."""
    data = generate_compose(_config(args))
    project = args.get("project", deployer.FLEET_COMPOSE_PROJECT)
    compose_path = args.get("compose_path", "/tmp/decnet-compose.yml")
    out = []
    for key, svc in data["services"].items():
        labels = dict(svc.get("labels") or {})
        labels.update({
            "com.docker.compose.project": project,
            "com.docker.compose.service": key,
            "com.docker.compose.project.config_files": compose_path,
            "com.docker.compose.project.working_dir": str(Path(compose_path).parent),
            "com.docker.compose.container-number": "1",
            "com.docker.compose.oneoff": "False",
        })
        out.append({"service": key, "name": svc["container_name"], "labels": labels})
    return out


def _docker(args):
    return docker.DockerClient(base_url=args.get("docker_host") or os.environ.get("DOCKER_HOST")
                               or "unix:///var/run/docker.sock", timeout=60)


@op
def up(args):
    """Create and start the composer's containers on the local busybox image
    (names and labels exactly as DECNET's compose file gives them). Returns
    their names; ``skip`` lists names not to create (already removed ones)."""
    from concurrent.futures import ThreadPoolExecutor

    client = _docker(args)
    skip = set(args.get("skip") or ())
    wanted = [c for c in compose(args) if c["name"] not in skip]

    def start(c):
        client.containers.run(IMAGE, name=c["name"], labels=c["labels"], detach=True,
                              network_mode="none")
        return c["name"]
    try:
        # The engine starts containers concurrently; a fleet comes up in a
        # fraction of the time one by one takes.
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(start, wanted))
    finally:
        client.close()


@op
def docker_stop(args):
    """Stop a container (it exits, as a crashed service does)."""
    client = _docker(args)
    try:
        client.containers.get(args["name"]).stop(timeout=int(args.get("timeout", 1)))
    finally:
        client.close()
    return None


@op
def docker_remove(args):
    client = _docker(args)
    try:
        client.containers.get(args["name"]).remove(force=True)
    except docker.errors.NotFound:
        pass
    finally:
        client.close()
    return None


class _OnlyNames:
    """A docker client whose listing holds only containers whose name matches
    ``pattern`` (Docker's name filter): on an engine shared with other fleets,
    the reconciler then inspects this world's containers only. Its judgement
    is by name, so a decky of this world is judged exactly as on its own host."""

    def __init__(self, client, pattern: str):
        self._client, self._pattern = client, pattern
        self.containers = self

    def list(self, **kw):
        filters = {**(kw.pop("filters", None) or {}), "name": self._pattern}
        return self._client.containers.list(filters=filters, **kw)


def _reconciler_client(args):
    client = _docker(args)
    return _OnlyNames(client, args["only_names"]) if args.get("only_names") else client


@op
def reconcile(args):
    """One ``fleet.reconciler.reconcile_once`` pass: its counts, and the rows after.
    ``only_names``: a name pattern the reconciler's listing is limited to."""
    _with_clock(args)
    _state_file(args)

    def client():
        return _reconciler_client(args)

    counts = _run(reconcile_once(
        _repo(args["db"]), host_uuid=args.get("host_uuid", "local"),
        load_state_fn=dconfig.load_state, docker_client_factory=client))
    return {"counts": counts, "rows": _raw_rows(args["db"])}


@op
def aggregate(args):
    """What the reconciler would judge each state-file decky, without writing."""
    from decnet.fleet.reconciler import _aggregate_decky_state, _collect_container_states
    _state_file(args)
    loaded = dconfig.load_state()
    states = _collect_container_states(lambda: _reconciler_client(args))
    if loaded is None or states is None:
        return None
    return {d.name: _aggregate_decky_state(d.name, list(d.services), states)
            for d in loaded[0].deckies}


def handle(cmd: dict) -> dict:
    try:
        fn = OPS[cmd["op"]]
    except (KeyError, TypeError):
        what = cmd.get("op") if isinstance(cmd, dict) else cmd
        return {"ok": False, "error": f"unknown op {what!r}"}
    try:
        return {"ok": True, "result": fn(cmd)}
    except Exception as exc:  # noqa: BLE001 - the caller gets the reason as data
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                "trace": traceback.format_exc(limit=6)}


def main(argv: list[str]) -> int:
    # Answers go to the real stdout; anything DECNET prints goes to stderr.
    out, sys.stdout = sys.stdout, sys.stderr
    if "--serve" in argv:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                answer = handle(json.loads(line))
            except json.JSONDecodeError as exc:
                answer = {"ok": False, "error": f"not JSON: {exc}"}
            out.write(json.dumps(answer) + "\n")
            out.flush()
        return 0
    source = open(argv[1]) if len(argv) > 1 and argv[1] != "-" else sys.stdin
    answer = handle(json.load(source))
    out.write(json.dumps(answer) + "\n")
    return 0 if answer["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
