# SPDX-License-Identifier: AGPL-3.0-or-later
"""The conformance driver's ops of what DECNET leaves on a host (issue 14):
its settings and root as a fresh DECNET process resolves them, the API
deploy's write of the state table's ``deployment`` copy, ``decnet mutate``
(the mutator's ``mutate_decky``) and ``decnet teardown --id`` (the deployer's
``teardown``) over an emulated ``docker compose`` (see driver.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from decnet import config as dconfig
from decnet.engine import deployer
from driver_core import IMAGE, _config, _docker, _new_repo, _repo, _run, _state_file, op

DRIVER = Path(__file__).with_name("driver.py")


_SETTING_KEYS = ("DECNET_DB_TYPE", "DECNET_DB_URL", "DECNET_DB_HOST", "DECNET_DB_PORT",
                 "DECNET_DB_NAME", "DECNET_DB_USER", "DECNET_DB_PASSWORD", "DECNET_HOST_UUID")


@op
def environment(args):
    """What this process's DECNET resolved at import: its settings (the
    environment seeded by decnet.ini, then its .env files), its root's state
    file and the SQLite repository's default database."""
    import inspect

    import decnet.env  # noqa: F401 - its import loads the .env files
    from decnet.web.db.sqlite.repository import SQLiteRepository
    default_db = inspect.signature(SQLiteRepository.__init__).parameters["db_path"].default
    return {"settings": {k: os.environ[k] for k in args.get("keys", _SETTING_KEYS)
                         if k in os.environ},
            "root": str(dconfig._ROOT), "state_file": str(dconfig.STATE_FILE),
            "sqlite_db": default_db}


@op
def settings(args):
    """``environment`` in a fresh DECNET process: ``python`` (another DECNET
    virtualenv's interpreter, default this one), ``env`` (the whole
    environment it starts with) and ``cwd``, as DECNET starts on a host."""
    proc = subprocess.run([args.get("python") or sys.executable, str(DRIVER), "-"],
                          input=json.dumps({"op": "environment"}), capture_output=True,
                          text=True, env=args["env"], cwd=args["cwd"], timeout=120)
    answer = json.loads(proc.stdout.splitlines()[-1]) if proc.stdout.strip() else None
    if not answer or not answer["ok"]:
        raise RuntimeError(f"DECNET did not start: {answer or proc.stderr[-800:]}")
    return answer["result"]


@op
def api_deploy_state(args):
    """The API deploy's write of the state table's ``deployment`` key
    (``api_deploy_deckies``: ``{"config": config.model_dump(), "compose_path"}``)."""
    payload = {"config": _config(args).model_dump(), "compose_path": args["compose_path"]}
    _run(_repo(args["db"]).set_state("deployment", payload))
    return None


@op
def deployment(args):
    return _run(_repo(args["db"]).get_state("deployment"))


def _compose_project(args, compose_file) -> list:
    """This world's containers of the compose project of ``compose_file``."""
    client = _docker(args)
    found = client.containers.list(all=True, filters={
        "label": [f"com.docker.compose.project={deployer.FLEET_COMPOSE_PROJECT}",
                  f"com.docker.compose.project.config_files={compose_file}"],
        **({"name": args["only_names"]} if args.get("only_names") else {})})
    return client, found


def _fake_compose(args):
    """``docker compose -p decnet -f FILE`` for DECNET's engine calls, on the
    busybox image: ``up -d [--remove-orphans]`` creates the file's missing
    containers (names and labels as in the file DECNET's composer wrote) and
    removes the project's others; ``stop``/``rm -f`` act on service keys.
    Orphans are only looked for among this world's names: the real compose
    would remove every container of project ``decnet``, another fleet's too."""
    import yaml

    def run(*cmd, compose_file, **_kw):
        compose_file = str(Path(compose_file).absolute())
        client, mine = _compose_project(args, compose_file)
        by_key = {c.labels.get("com.docker.compose.service"): c for c in mine}
        try:
            if cmd[0] == "up":
                spec = yaml.safe_load(Path(compose_file).read_text())["services"]
                for key, svc in spec.items():
                    if key in by_key:
                        continue
                    labels = {**(svc.get("labels") or {}),
                              "com.docker.compose.project": deployer.FLEET_COMPOSE_PROJECT,
                              "com.docker.compose.service": key,
                              "com.docker.compose.project.config_files": compose_file,
                              "com.docker.compose.project.working_dir":
                                  str(Path(compose_file).parent),
                              "com.docker.compose.oneoff": "False"}
                    client.containers.run(IMAGE, name=svc["container_name"], labels=labels,
                                          detach=True, network_mode="none")
                if "--remove-orphans" in cmd:
                    for key, c in by_key.items():
                        if key not in spec:
                            c.remove(force=True)
            elif cmd[0] in ("stop", "rm"):
                for key in cmd[1:]:
                    if key in by_key:
                        by_key[key].stop(timeout=1) if cmd[0] == "stop" else \
                            by_key[key].remove(force=True)
            else:
                raise RuntimeError(f"compose {cmd[0]} is not emulated")
        finally:
            client.close()
    return run


@op
def mutate(args):
    """``decnet mutate --decky NAME``: the mutator's own ``mutate_decky``
    (it reads and writes the state table, rewrites the compose file, runs
    ``compose up -d --remove-orphans``), ``seed`` fixing its random choice."""
    import random

    from decnet.mutator import engine as mutator
    random.seed(args.get("seed", 14))
    saved = mutator._compose_with_retry
    mutator._compose_with_retry = _fake_compose(args)
    try:
        ok = _run(mutator.mutate_decky(args["name"], _repo(args["db"])))
    finally:
        mutator._compose_with_retry = saved
    return {"ok": ok, "deployment": _run(_repo(args["db"]).get_state("deployment"))}


@op
def teardown_one(args):
    """``decnet teardown --id NAME``: the deployer's own ``teardown`` (it
    stops and removes the decky's service containers, deletes its row, and
    leaves the state file and the base container alone)."""
    from decnet.web.db import factory
    _state_file(args)
    saved = (deployer._compose, factory.get_repository)
    deployer._compose = _fake_compose(args)
    factory.get_repository = lambda **_k: _new_repo(args["db"])
    try:
        deployer.teardown(args["name"])
    finally:
        deployer._compose, factory.get_repository = saved
    return None
