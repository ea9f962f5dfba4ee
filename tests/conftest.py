"""Fixtures for real parts: a Docker engine, SQLite files, MariaDB databases.

A fixture whose service is missing skips the test on a laptop, but fails it
when ``DECNET_AUDIT_CI=1`` (set by ``.ci/run``): in CI nothing skips silently.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from kit.fleet import CI, IMAGE, MYSQL_SERVER_URL, Database, DockerFleet


@pytest.fixture(scope="session", autouse=True)
def journal_key(tmp_path_factory):
    """Every run of the tests (and the CLIs they start) seals its journals
    with a key of its own, never the key of the user running the tests."""
    path = tmp_path_factory.mktemp("journal-key") / "journal.key"
    saved = os.environ.get("DECNET_AUDIT_JOURNAL_KEY")
    os.environ["DECNET_AUDIT_JOURNAL_KEY"] = str(path)
    yield path
    if saved is None:
        os.environ.pop("DECNET_AUDIT_JOURNAL_KEY", None)
    else:
        os.environ["DECNET_AUDIT_JOURNAL_KEY"] = saved


def unavailable(what: str, why: str):
    if CI:
        pytest.fail(f"{what} is required under DECNET_AUDIT_CI=1 but unavailable: {why}")
    pytest.skip(f"{what} unavailable: {why}")


@pytest.fixture(scope="session")
def docker_client():
    try:
        import docker

        client = docker.from_env(timeout=60)
        client.ping()
        client.images.get(IMAGE)
    except Exception as exc:  # noqa: BLE001 - any reason means "no engine here"
        unavailable("Docker engine", f"{type(exc).__name__}: {exc}")
    yield client
    client.close()


@pytest.fixture
def docker_fleet(docker_client, request):
    if request.node.get_closest_marker("docker") is None:
        pytest.fail("tests using docker_fleet must be marked @pytest.mark.docker")
    # The CLI under test is pointed at the same engine the containers live on.
    fleet = DockerFleet(docker_client, os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
    yield fleet
    fleet.cleanup()


@pytest.fixture
def sqlite_db(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'decnet.db'}", "sqlite")
    db.create_schema()
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def mariadb_server():
    engine = create_engine(MYSQL_SERVER_URL, poolclass=NullPool,
                           connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        unavailable("MariaDB", f"{MYSQL_SERVER_URL}: {type(exc).__name__}: {exc}")
    yield engine
    engine.dispose()


@pytest.fixture
def mariadb_db(mariadb_server, request):
    if request.node.get_closest_marker("mariadb") is None:
        pytest.fail("tests using mariadb_db must be marked @pytest.mark.mariadb")
    name = f"decnet_audit_t_{uuid.uuid4().hex[:12]}"
    with mariadb_server.begin() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    db = Database(f"{MYSQL_SERVER_URL}/{name}", "mariadb")
    db.create_schema()
    yield db
    db.dispose()
    with mariadb_server.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def db(request):
    """The same test on SQLite (embedded default) and on a real MariaDB."""
    yield request.getfixturevalue(f"{request.param}_db")
