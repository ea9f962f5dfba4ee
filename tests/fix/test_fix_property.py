"""Property: on any drifted fleet, ``--fix`` converges this host, touches no
other host, is idempotent, and ``undo`` restores the exact before-image.

Fleets mix the four drift classes (json-only, db-only, docker-mismatch,
foreign rows and state-file entries of other hosts) over deckies whose
containers exist on the real Docker engine (see :class:`fixkit.Pool`), on
SQLite and on MariaDB. The command line runs in this process to keep the
many runs per example cheap; ``test_fix_db.py`` runs it as a subprocess.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from kit.fix import RULES4, Pool, run_inproc
from kit.fleet import decky_config, write_state

pytestmark = pytest.mark.docker
LOCAL = "local"
PEERS = ("peer-a", "peer-b")
STATES = ("pending", "running", "failed", "torn_down", "degraded", "tearing_down",
          "teardown_failed")
CLASSES = ("ok", "json-only", "db-only", "docker-mismatch", "absent")
EXTRA = 3  # deckies without containers, besides the pool's four
T0 = datetime(2026, 3, 1, 12, 0, 0)


@pytest.fixture(scope="module")
def pool(docker_client, tmp_path_factory):
    p = Pool(docker_client, tmp_path_factory.mktemp("pool"))
    yield p
    p.cleanup()


stamp = st.integers(0, 10_000).map(lambda s: T0 + timedelta(seconds=s))

decky_spec = st.fixed_dictionaries({
    "cls": st.sampled_from(CLASSES),
    "state": st.sampled_from(STATES),  # the row's state where the class leaves it free
    "updated_at": stamp,
    "last_seen": st.none() | stamp,
    "last_error": st.none() | st.sampled_from(["exit 137", "pull failed: 'x'\n"]),
    "as_text": st.booleans(),  # timestamps stored as DECNET's text rather than bound
    "peers": st.dictionaries(st.sampled_from(PEERS), st.sampled_from(STATES), max_size=2),
    "foreign_entry": st.none() | st.sampled_from(PEERS),
    "services": st.sampled_from([("ssh",), ("ssh", "smtp_relay")]),
})


def timestamp(value, as_text):
    # DECNET's SQLAlchemy writes "YYYY-MM-DD HH:MM:SS.ffffff" text into SQLite.
    if value is None or not as_text:
        return value
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def build(db, pool, state_path, specs):
    """Write the state file and the table for ``specs``; return the number
    of fixable drifts planted."""
    rows = []

    def insert(host, name, services, state, spec, last_seen=None):
        rows.append({"h": host, "n": name, "s": json.dumps(list(services)), "st": state,
                     "err": spec["last_error"],
                     "seen": timestamp(last_seen, spec["as_text"]),
                     "upd": timestamp(spec["updated_at"], spec["as_text"])})

    names = [*pool.names.values(), *(f"{pool.tag}-x{i}" for i in range(EXTRA))]
    aggregates = [*pool.names, *(["torn_down"] * EXTRA)]
    entries, fixable = [], 0
    for name, aggregate, spec in zip(names, aggregates, specs, strict=True):
        services = Pool.SERVICES.get(aggregate) if name in pool.names.values() \
            else spec["services"]
        cls = spec["cls"]
        if cls in ("ok", "json-only", "docker-mismatch"):
            entries.append(decky_config(name, services=services))
        elif spec["foreign_entry"]:
            entries.append(decky_config(name, services=services, host_uuid=spec["foreign_entry"]))
        wrong = spec["state"] if spec["state"] != aggregate else "pending"
        row_state = {"ok": aggregate, "db-only": spec["state"], "docker-mismatch": wrong}.get(cls)
        if row_state is not None:
            insert(LOCAL, name, services, row_state, spec, spec["last_seen"])
        fixable += cls in ("json-only", "db-only", "docker-mismatch")
        for peer, peer_state in spec["peers"].items():
            insert(peer, name, services, peer_state, spec)
    write_state(state_path, entries)
    # One connection per example: a fresh MariaDB connection is slow on a busy host.
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM fleet_deckies"))
        if rows:
            conn.execute(text(
                "INSERT INTO fleet_deckies (host_uuid, name, services, decky_config, decky_ip, "
                "state, last_error, compose_hash, last_seen, updated_at) VALUES (:h, :n, :s, "
                "NULL, NULL, :st, :err, NULL, :seen, :upd)"), rows)
    return fixable


def peers(rows):
    return [r for r in rows if r["host_uuid"] != LOCAL]


@pytest.fixture
def table(db):
    """The whole table, every column, through pooled connections: four reads
    per example would otherwise open four MariaDB connections."""
    engine = create_engine(db.url)

    def rows():
        with engine.connect() as conn:
            res = conn.execute(text("SELECT * FROM fleet_deckies ORDER BY host_uuid, name"))
            return [dict(r._mapping) for r in res]

    yield rows
    engine.dispose()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(specs=st.lists(decky_spec, min_size=4 + EXTRA, max_size=4 + EXTRA))
def test_fix_converges_spares_peers_is_idempotent_and_undoes_exactly(db, table, pool,
                                                                      tmp_path, specs):
    work = tmp_path / uuid.uuid4().hex[:8]
    work.mkdir()
    fixable = build(db, pool, work / "decnet-state.json", specs)
    before = table()
    args = ["--state", str(work / "decnet-state.json"), "--db", db.url, "--docker-snapshot",
            str(pool.snap), "--host-uuid", LOCAL, "--select", RULES4]

    fix = run_inproc(*args, "--fix", "--unsafe-fixes", "--allow-empty-state",
                     "--journal", str(work / "fix.json"))
    audit = run_inproc(*args, json_path=work / "audit.json")
    left = {f["rule"] for f in audit.findings()}
    assert left <= {"foreign-host-row"}, audit.out
    assert audit.rc == fix.rc == (1 if left else 0), fix.out + fix.err
    assert peers(table()) == peers(before)  # every other host's row, byte for byte
    assert (work / "fix.json").exists() == (fixable > 0)

    converged = table()
    again = run_inproc(*args, "--fix", "--unsafe-fixes", "--allow-empty-state",
                       "--journal", str(work / "again.json"))
    assert again.rc == fix.rc
    assert not (work / "again.json").exists() and table() == converged

    if fixable:
        undo = run_inproc("undo", str(work / "fix.json"), "--db", db.url, "--host-uuid", LOCAL,
                          "--journal", str(work / "undo.json"))
        assert undo.rc == 0, undo.out + undo.err
    assert table() == before
