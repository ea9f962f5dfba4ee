"""Fixtures of the conformance suite: DECNET's driver and DECNET-written worlds.

Every test here is marked ``decnet`` (and ``docker``; ``mariadb`` on that
backend). Without DECNET's virtualenv or a Docker engine they skip with the
reason, and fail under ``DECNET_AUDIT_CI=1``, like the other real-service tests.
"""

from __future__ import annotations

import os
import shutil
import uuid

import decnet_venv
import pytest
from oracle import BACKENDS, Driver, World
from sqlalchemy import text

from kit.fleet import CI, MYSQL_SERVER_URL


def unavailable(what: str, why: str):
    if CI:
        pytest.fail(f"{what} is required under DECNET_AUDIT_CI=1 but unavailable: {why}")
    pytest.skip(f"{what} unavailable: {why}")


def pytest_collection_modifyitems(items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.decnet)
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def decnet_python():
    venv = decnet_venv.location()
    try:
        ok = decnet_venv.ready(venv)
    except (OSError, Exception) as exc:  # noqa: BLE001
        unavailable("DECNET 1.0.0", f"{venv}: {type(exc).__name__}: {exc}")
    if not ok:
        unavailable("DECNET 1.0.0", f"no DECNET 1.0.0 virtualenv at {venv} "
                                    f"(build it: python3 tests/conformance/decnet_venv.py)")
    return decnet_venv.python(venv)


@pytest.fixture(scope="session")
def decnet(decnet_python, docker_client, tmp_path_factory):
    """The long-lived driver process (DECNET imported once per session)."""
    driver = Driver(decnet_python, tmp_path_factory.mktemp("decnet-driver"))
    try:
        info = driver.call("ping")
    except Exception as exc:  # noqa: BLE001
        driver.close()
        unavailable("DECNET 1.0.0", f"the driver does not start: {exc}")
    assert info["decnet"] == "1.0.0"
    yield driver
    driver.close()


def _docker_host() -> str:
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def _asyncmy(url: str) -> str:
    return url.replace("mysql+pymysql://", "mysql+asyncmy://", 1)


@pytest.fixture(scope="session")
def sqlite_template(decnet, tmp_path_factory):
    """A database file that DECNET's ``initialize()`` (Alembic) created; each
    world gets a byte copy (Alembic takes seconds on a shared machine)."""
    path = tmp_path_factory.mktemp("decnet-schema") / "decnet.db"
    db = {"type": "sqlite", "path": str(path)}
    decnet.call("init_db", db=db)
    decnet.call("close_db", db=db)
    return path


@pytest.fixture(scope="session")
def mariadb_template(decnet, mariadb_server):
    """A database that DECNET's ``initialize()`` (Alembic) created on MariaDB;
    each world's database gets its tables with ``CREATE TABLE ... LIKE``
    (same columns, types, collations and indexes) and its alembic_version."""
    name = f"orc_tpl_{uuid.uuid4().hex[:8]}"
    with mariadb_server.begin() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    decnet.call("init_db", db={"type": "mysql", "url": _asyncmy(f"{MYSQL_SERVER_URL}/{name}")})
    with mariadb_server.connect() as conn:
        tables = [r[0] for r in conn.execute(text(f"SHOW TABLES FROM {name}"))]
    yield name, tables
    with mariadb_server.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))


@pytest.fixture
def make_world(decnet, docker_client, tmp_path, request):
    """``make_world(backend)``: an empty DECNET host with DECNET's schema;
    its containers and databases are removed afterwards."""
    made: list[World] = []
    databases: list[str] = []

    def make(backend: str, host_uuid: str = "local") -> World:
        wdir = tmp_path / f"world-{len(made)}"
        wdir.mkdir()
        if backend == "sqlite":
            path = wdir / "decnet.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            db, audit_db = {"type": "sqlite", "path": str(path)}, f"sqlite:///{path}"
        else:
            server = request.getfixturevalue("mariadb_server")
            template, tables = request.getfixturevalue("mariadb_template")
            dbname = f"orc_{uuid.uuid4().hex[:10]}"
            with server.begin() as conn:
                conn.execute(text(f"CREATE DATABASE {dbname} CHARACTER SET utf8mb4"))
                databases.append(dbname)
                for table in tables:
                    conn.execute(text(f"CREATE TABLE {dbname}.`{table}` "
                                      f"LIKE {template}.`{table}`"))
                conn.execute(text(f"INSERT INTO {dbname}.alembic_version "
                                  f"SELECT * FROM {template}.alembic_version"))
            audit_db = f"{MYSQL_SERVER_URL}/{dbname}"
            db = {"type": "mysql", "url": _asyncmy(audit_db)}
        world = World(decnet, backend, db, audit_db, wdir, _docker_host(), host_uuid)
        made.append(world)
        return world

    yield make
    for world in made:
        for cname in world.containers:
            try:
                docker_client.containers.get(cname).remove(force=True)
            except Exception:  # noqa: BLE001 - already gone is fine
                pass
    if databases:
        server = request.getfixturevalue("mariadb_server")
        with server.begin() as conn:
            for dbname in databases:
                conn.execute(text(f"DROP DATABASE IF EXISTS {dbname}"))


@pytest.fixture(params=BACKENDS)
def world(make_world, request) -> World:
    return make_world(request.param)
