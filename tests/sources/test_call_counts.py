"""The audit's cost in Engine API calls and SQL statements does not grow with
the fleet: counted, on a small and a large real fleet, so that a per-decky
call fails CI rather than a timing.

Docker calls are counted on the wire by a proxy in front of the real engine
(passed as ``--docker-host``); MariaDB commands by a proxy in front of the
real server; SQL statements by a ``before_cursor_execute`` listener in the
audited process (``kit/callcount.py``). The containers (a base and two service
containers per decky, created, not started) are built once for the module and
resized between cases: 3 containers, then 300.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from decnet_audit.sources import database
from kit.callcount import CountingProxy, HttpRequests, MysqlCommands
from kit.fleet import CI, IMAGE, decky_config, now, run_cli, unique, write_state

KIT = Path(__file__).parent.parent / "kit"
TEST_LABEL = "decnet-audit.test"
SERVICES = ("ssh", "smtp_relay")
LISTING = ["GET /containers/json?all=1"]  # the one Engine API call, whatever the size
SMALL, LARGE = 1, 100  # deckies: 3 and 300 containers
FIX_SMALL, FIX_LARGE = 10, 100  # a tenth of them drifted: 3 and 30 rows to write

# What one size measured, for the other size to compare with.
measured: dict[tuple, list] = {}


class Fleet:
    """Real containers named and labelled as DECNET does, resized in place."""

    def __init__(self, api):
        self.api, self.prefix = api, unique("cc")
        self.deckies = 0

    def names(self, n: int) -> list[str]:
        return [f"{self.prefix}-{i:03d}" for i in range(n)]

    def resize(self, n: int) -> None:
        wanted = {}
        for name in self.names(n):
            wanted[name] = {}
            for svc in SERVICES:
                wanted[f"{name}-{svc.replace('_', '-')}"] = {
                    "decnet.fleet.service": "true", "decnet.fleet.decky": name,
                    "decnet.fleet.service_name": svc}
        have = {c["Names"][0].lstrip("/"): c["Id"] for c in self.api.containers(
            all=True, filters={"label": f"{TEST_LABEL}={self.prefix}"})}
        config = self.api.create_host_config(network_mode="none")

        def create(name):
            self.api.create_container(IMAGE, name=name, host_config=config,
                                      labels={**wanted[name], TEST_LABEL: self.prefix})

        with ThreadPoolExecutor(4) as pool:  # dockerd creates twice as fast on 4 connections
            list(pool.map(lambda cid: self.api.remove_container(cid, force=True),
                          [cid for name, cid in have.items() if name not in wanted]))
            list(pool.map(create, [name for name in wanted if name not in have]))
        self.deckies = n

    def remove(self) -> None:
        for c in self.api.containers(all=True, filters={"label": f"{TEST_LABEL}={self.prefix}"}):
            self.api.remove_container(c["Id"], force=True)


@pytest.fixture(scope="module")
def fleet(docker_client):
    f = Fleet(docker_client.api)
    yield f
    f.remove()


@pytest.fixture(scope="module")
def sized(request, fleet) -> int:
    """The module's fleet at ``request.param`` deckies. Module-scoped, so that
    pytest runs every case of one size together: a resize costs seconds."""
    fleet.resize(request.param)
    return request.param


@pytest.fixture(scope="module")
def engine_proxy(docker_client):
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        if CI:
            pytest.fail(f"the counting proxy needs a unix-socket engine, DOCKER_HOST={host}")
        pytest.skip(f"the counting proxy needs a unix-socket engine, DOCKER_HOST={host}")
    proxy = CountingProxy(host[len("unix://"):], HttpRequests)
    yield proxy
    proxy.close()


@pytest.fixture
def mysql_proxy(db):
    """For a MariaDB ``db``: a proxy counting the commands sent to it."""
    if db.kind != "mariadb":
        yield None
        return
    url = db.engine.url
    proxy = CountingProxy((url.host, url.port or 3306), MysqlCommands)
    yield proxy
    proxy.close()


def build_sources(tmp: Path, fleet: Fleet, db, n: int, drift: bool = False) -> Path:
    """A state file and rows agreeing with the containers (created, so
    "failed"); with ``drift``, a tenth of the deckies have no row and a tenth
    a row claiming "running"."""
    configs, rows = [], []
    stamp = now()
    for i, name in enumerate(fleet.names(n)):
        cfg = decky_config(name, services=SERVICES, ip=f"10.9.{i // 256}.{i % 256}")
        configs.append(cfg)
        if drift and i % 10 == 1:
            continue  # json-only: inserted by --fix
        rows.append({"h": "local", "n": name, "s": json.dumps(list(SERVICES)),
                     "c": json.dumps(cfg), "ip": cfg["ip"],
                     "st": "running" if drift and i % 10 == 2 else "failed",
                     "seen": stamp + timedelta(hours=1), "upd": stamp})
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO fleet_deckies (host_uuid, name, services, decky_config, decky_ip, "
            "state, last_error, compose_hash, last_seen, updated_at) VALUES "
            "(:h, :n, :s, :c, :ip, :st, NULL, NULL, :seen, :upd)"), rows)
    return write_state(tmp / "decnet-state.json", configs)


def db_url(db, mysql_proxy) -> str:
    if mysql_proxy is None:
        return db.url
    return db.engine.url.set(port=mysql_proxy.port).render_as_string(hide_password=False)


def counted_run(tmp: Path, *args: str) -> tuple[int, list[dict], dict]:
    """decnet-audit ARGS in its own process, with its SQL statements counted."""
    out, report = tmp / "statements.json", tmp / "report.json"
    p = subprocess.run([sys.executable, str(KIT / "callcount.py"), str(out), "--", *args,
                        "--json", str(report)], capture_output=True, text=True,
                       env={**os.environ, "NO_COLOR": "1"}, timeout=300)
    assert p.returncode in (0, 1), p.stdout + p.stderr
    return p.returncode, json.loads(out.read_text()), json.loads(report.read_text())


def same_at_both_sizes(key: tuple, size: int, value) -> None:
    """Record ``value`` for this size; if the other size ran, they must agree."""
    measured[(*key, size)] = value
    for (*other_key, other_size), other in measured.items():
        if tuple(other_key) == key and other_size != size:
            assert value == other, f"{key}: {size} deckies vs {other_size}"


def shapes(statements: list[dict], db_name: str) -> list[str]:
    # The statement text without the per-test database name, and with an
    # IN list (one placeholder per name in a batch) as one item.
    return [_IN_LIST.sub(" IN (...)", s["sql"].replace(db_name, "<db>")) for s in statements]


_PARAM = r"(?:%\(\w+\)s|\?|:\w+)"  # pymysql's, sqlite3's and SQLAlchemy's placeholders
_IN_LIST = re.compile(rf" IN \({_PARAM}(?:, {_PARAM})*\)")


def mine(report: dict, fleet: Fleet, rule: str) -> set[str]:
    return {f["decky"] for f in report["findings"]
            if f["rule"] == rule and f["decky"].startswith(fleet.prefix)}


@pytest.mark.docker
@pytest.mark.parametrize("sized", [SMALL, LARGE], ids=["3-containers", "300-containers"],
                         indirect=True)
def test_listing_costs_the_same_engine_calls_for_3_and_300_containers(
        sized, fleet, engine_proxy, sqlite_db, tmp_path):
    n = sized
    state = build_sources(tmp_path, fleet, sqlite_db, n)
    engine_proxy.take()
    run = run_cli("--state", str(state), "--db", sqlite_db.url,
                  "--docker-host", engine_proxy.url, json_path=tmp_path / "r.json")
    calls = engine_proxy.take()
    assert run.report["sources"]["docker"]["status"] == "ok", run.out + run.err
    # Every container was seen (created ones aggregate to "failed", as the rows say).
    assert not mine(run.report, fleet, "docker-mismatch") and not mine(
        run.report, fleet, "json-only"), run.out
    assert calls == LISTING
    same_at_both_sizes(("engine",), 3 * n, calls)


@pytest.mark.docker
@pytest.mark.parametrize("sized", [SMALL, LARGE], ids=["1-decky", "100-deckies"],
                         indirect=True)
def test_sql_statements_do_not_grow_with_the_fleet(sized, fleet, engine_proxy, db, mysql_proxy,
                                                   tmp_path):
    n = sized
    state = build_sources(tmp_path, fleet, db, n)
    if mysql_proxy:
        mysql_proxy.take()
    _, statements, report = counted_run(tmp_path, "-q", "--state", str(state),
                                        "--db", db_url(db, mysql_proxy),
                                        "--docker-host", engine_proxy.url)
    assert report["sources"]["db"]["detail"].startswith(f"{n} rows")
    sql = shapes(statements, db.engine.url.database or "")
    reads = [s for s in sql if re.match(r"SELECT .* FROM fleet_deckies$", s)]
    assert len(reads) == 1, sql  # the whole table in one statement
    assert len(sql) <= 8, sql  # table names, dialect start-up: a handful
    same_at_both_sizes(("sql", db.kind), n, sql)
    if mysql_proxy:
        wire = [c.replace(db.engine.url.database, "<db>") for c in mysql_proxy.take()]
        print("\n".join(["SQLAlchemy statements:", *sql, "MariaDB commands:", *wire]))
        assert len(wire) <= 20, wire
        same_at_both_sizes(("wire", db.kind), n, wire)


@pytest.mark.docker
@pytest.mark.parametrize("sized", [FIX_SMALL, FIX_LARGE], ids=["2-rows-fixed", "20-rows-fixed"],
                         indirect=True)
def test_fix_writes_in_batches_not_row_by_row(sized, fleet, engine_proxy, db, tmp_path):
    n = sized
    state = build_sources(tmp_path, fleet, db, n, drift=True)
    engine_proxy.take()
    _, statements, report = counted_run(tmp_path, "-q", "--fix", "--state", str(state),
                                        "--db", db.url, "--docker-host", engine_proxy.url,
                                        "--journal", str(tmp_path / "journal.json"))
    drifted = n // 10
    fixed = {(f["rule"], f["decky"]) for f in report["findings"] if f["fixed"]}
    assert {d for r, d in fixed if r == "json-only"} == mine(report, fleet, "json-only")
    assert len(mine(report, fleet, "json-only")) == drifted
    assert len(mine(report, fleet, "docker-mismatch")) == drifted
    assert len(fixed) == 2 * drifted, report["findings"]
    writes = [s for s in statements if s["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]
    # One statement per kind of write, carrying every row of that kind.
    assert sorted((s["sql"].split()[0], s["rows"]) for s in writes) == \
        [("INSERT", drifted), ("UPDATE", drifted)]
    sql = shapes(statements, db.engine.url.database or "")
    same_at_both_sizes(("fix", db.kind), n, sql)
    assert engine_proxy.take() == LISTING  # the re-audit reuses the listing


@pytest.mark.docker
@pytest.mark.parametrize("sized", [SMALL, LARGE], ids=["3-containers", "300-containers"],
                         indirect=True)
def test_only_dead_containers_behind_running_rows_are_inspected(
        sized, fleet, engine_proxy, sqlite_db, docker_client, tmp_path):
    """stale-observation needs Docker's FinishedAt, which the listing lacks:
    one inspect per container that ran and stopped while its row says
    running (two here, at either size); none for the created ones, none when
    the row already says what Docker shows."""
    n = sized
    state = build_sources(tmp_path, fleet, sqlite_db, n)
    dead = [unique("cc-dead") for _ in range(2)]
    ids = []
    try:
        for name in dead:
            c = docker_client.containers.run(IMAGE, ["true"], name=f"{name}-ssh", labels={
                "decnet.fleet.service": "true", "decnet.fleet.decky": name,
                "decnet.fleet.service_name": "ssh", TEST_LABEL: fleet.prefix},
                network_mode="none", detach=True)
            c.wait(timeout=30)
            ids.append(c.id)
        doc = json.loads(state.read_text())
        doc["config"]["deckies"] += [decky_config(x, ip=f"10.99.0.{i}") for i, x in
                                     enumerate(dead, 1)]
        state.write_text(json.dumps(doc))
        for st in ("running", "failed"):
            sqlite_db.execute("DELETE FROM fleet_deckies WHERE name LIKE 'cc-dead%'")
            for name in dead:
                sqlite_db.insert("local", name, state=st)
            engine_proxy.take()
            run = run_cli("--state", str(state), "--db", sqlite_db.url,
                          "--docker-host", engine_proxy.url, json_path=tmp_path / f"{st}.json")
            calls = engine_proxy.take()
            assert run.report["sources"]["docker"]["status"] == "ok", run.out + run.err
            inspected = sorted(f"GET /containers/{cid}/json" for cid in ids)
            if st == "running":
                assert calls[:1] == LISTING and sorted(calls[1:]) == inspected, calls
            else:
                assert calls == LISTING
            same_at_both_sizes(("inspect", st), 3 * n, len(calls))
    finally:
        for cid in ids:
            docker_client.api.remove_container(cid, force=True)


@pytest.mark.mariadb
def test_mariadb_connections_share_one_tls_context(mariadb_db, monkeypatch):
    """PyMySQL's default (TLS if offered) loaded the CA store for every
    connection; a --fix run opens four."""
    made = []
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context",
                        lambda *a, **k: made.append(1) or real(*a, **k))
    for _ in range(4):
        engine = database.connect(mariadb_db.url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    assert len(made) <= 1  # none if an earlier test of this process built it
