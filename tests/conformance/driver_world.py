# SPDX-License-Identifier: AGPL-3.0-or-later
"""The conformance driver's ops on DECNET's records: its fleet builder and
registry, its state file, its database (schema, deploy/teardown/API mirrors,
raw rows) and its reconciler."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from decnet import config as dconfig
from decnet.config import DeckyConfig
from decnet.engine import deployer
from decnet.fleet import build_deckies_from_ini
from decnet.fleet.reconciler import reconcile_once
from decnet.models import IniConfig
from decnet.services.registry import all_services
from driver_core import (
    _config,
    _decky_configs,
    _docker,
    _new_repo,
    _raw_rows,
    _repo,
    _repos,
    _run,
    _state_file,
    _with_clock,
    op,
)


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
def decky_defaults(args):
    """DeckyConfig's default of every field that has one, as ``model_dump``
    writes it for a state-file entry that leaves the field out."""
    entry = {"name": "x", "ip": "10.0.0.1", "services": ["ssh"], "distro": "debian",
             "base_image": "debian", "hostname": "x"}
    dumped = DeckyConfig(**entry).model_dump(mode="json")
    return {k: v for k, v in dumped.items() if k not in entry}


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
def reconcile_timed(args):
    """One ``reconcile_once`` pass as the benchmark times it: wall
    (``perf_counter``) and CPU (``process_time``, every thread of the
    process) around the call alone, and its counts; no rows are read back.
    Without ``only_names`` the reconciler lists the whole engine, as on a
    host of its own."""
    _with_clock(args)
    _state_file(args)
    repo = _repo(args["db"])

    def client():
        return _reconciler_client(args)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    counts = _run(reconcile_once(
        repo, host_uuid=args.get("host_uuid", "local"),
        load_state_fn=dconfig.load_state, docker_client_factory=client))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    close_db(args)  # SQLite checkpoints its WAL: the file alone holds the pass
    return {"counts": counts, "wall": wall, "cpu": cpu}


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
