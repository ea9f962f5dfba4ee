# SPDX-License-Identifier: AGPL-3.0-or-later
"""The conformance driver's shared parts: the op registry and DECNET's
repository, state file and clock as the ops use them (see driver.py)."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import docker
from decnet import config as dconfig
from decnet.config import DeckyConfig, DecnetConfig
from decnet.web.db.sqlmodel_repo import fleet as fleet_repo_module

OPS: dict = {}
IMAGE = os.environ.get("DECNET_AUDIT_TEST_IMAGE", "decnet-audit-busybox:latest")
_repos: dict = {}
_loop = asyncio.new_event_loop()


def op(fn):
    """Register ``fn`` as the op of its name: ``fn(args) -> JSON-able``."""
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


def _config(args) -> DecnetConfig:
    return DecnetConfig(mode=args.get("mode", "unihost"), interface=args.get("interface", "eth0"),
                        subnet=args.get("subnet", "10.77.0.0/24"),
                        gateway=args.get("gateway", "10.77.0.1"),
                        deckies=[DeckyConfig(**d) for d in args["deckies"]])


def _decky_configs(args) -> list[DeckyConfig]:
    return [DeckyConfig(**d) for d in args["deckies"]]


def _docker(args):
    return docker.DockerClient(base_url=args.get("docker_host") or os.environ.get("DOCKER_HOST")
                               or "unix:///var/run/docker.sock", timeout=60)
