"""The master rules (DA101-DA105) on swarm masters written by DECNET 1.0.0's
own swarm code, on SQLite and MariaDB: each rule fires on the world DECNET
leaves when things go wrong, and nothing fires on a healthy swarm.

A master world: workers enrolled (``add_swarm_host`` as ``POST
/swarm/enroll``), the master's state file (``save_state``, ``mode:
swarm``, each decky's ``host_uuid`` its worker), shards from the swarm
dispatch (``_shard_payload`` + ``upsert_decky_shard``) and the workers'
heartbeats (DECNET's ``api_heartbeat.heartbeat`` handler). The master runs
no decky itself, so Docker holds none of this world's containers.

``DECNET_AUDIT_SWARM_TABLE=PATH`` appends one JSON line per scenario and
backend (what fired, what was expected) for the scenario table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from conftest import BACKENDS
from oracle import DriverError, World
from sqlalchemy import text

MASTER_RULES = ("shard-placement", "shard-unlisted", "shard-host-unknown", "worker-silent",
                "swarm-duplicate-ip")


@dataclass
class Master:
    world: World
    a: str
    b: str
    deckies: dict[str, dict]

    def name(self, tag: str) -> str:
        return self.world.name(tag)

    def save(self, placed: dict[str, str], ips: dict[str, str] | None = None) -> list[dict]:
        """The master's state file: decky tag -> worker uuid."""
        out = []
        for tag, host in placed.items():
            d = dict(self.deckies[tag], host_uuid=host)
            if ips and tag in ips:
                d["ip"] = ips[tag]
            out.append(d)
        self.world.call("save_state", deckies=out, mode="swarm")
        return out

    def dispatch(self, host: str, deckies: list[dict]) -> None:
        self.world.call("swarm_dispatch", host_uuid=host, deckies=deckies)

    def heartbeat(self, host: str, deckies: list[dict], running=None, age: float = 0.0):
        names = [d["name"] for d in deckies] if running is None else running
        self.world.call("swarm_heartbeat", host_uuid=host, deckies=deckies, running=names,
                        clock_offset=-age)

    def of(self, placed: list[dict], host: str) -> list[dict]:
        return [d for d in placed if d["host_uuid"] == host]


def master(world: World) -> Master:
    a, b = world.name("wa"), world.name("wb")
    world.call("swarm_enroll", uuid=a, name=f"{a}-name", address="10.77.0.201")
    world.call("swarm_enroll", uuid=b, name=f"{b}-name", address="10.77.0.202")
    built = world.build([{"name": world.name(f"d{i}"), "services": ["ssh", "http"]}
                         for i in range(4)])
    return Master(world, a, b, {f"d{i}": d for i, d in enumerate(built)})


def _deploy(m: Master, placed: dict[str, str], **kw) -> list[dict]:
    """A swarm deploy that went well: state file, dispatch, a heartbeat each."""
    state = m.save(placed, **kw)
    for host in (m.a, m.b):
        mine = m.of(state, host)
        if mine:
            m.dispatch(host, mine)
            m.heartbeat(host, mine)
    return state


def healthy(m: Master):
    _deploy(m, {"d0": m.a, "d1": m.a, "d2": m.b, "d3": m.b})
    return set()


def dispatch_failed(m: Master):
    # The agent of B did not answer: the state file places d2, d3 on B, no shard.
    state = m.save({"d0": m.a, "d1": m.a, "d2": m.b, "d3": m.b})
    m.dispatch(m.a, m.of(state, m.a))
    m.heartbeat(m.a, m.of(state, m.a))
    return {("shard-placement", m.name("d2")), ("shard-placement", m.name("d3"))}


def moved_decky(m: Master):
    # d1 ran on B; the state file now places it on A, where it never came up:
    # B still runs it, its heartbeats keep the shard on B.
    state = _deploy(m, {"d0": m.a, "d1": m.b})
    old = m.of(state, m.b)
    m.save({"d0": m.a, "d1": m.a})
    m.heartbeat(m.b, old)
    return {("shard-placement", m.name("d1"))}


def decky_dropped(m: Master):
    # d3 left the master's state file (a one-decky teardown); its shard stays,
    # and B's state file still lists it, so B's heartbeat re-upserts it.
    state = _deploy(m, {"d0": m.a, "d3": m.b})
    m.save({"d0": m.a})
    m.heartbeat(m.b, m.of(state, m.b), running=[])
    return {("shard-unlisted", m.name("d3"))}


def host_decommissioned(m: Master):
    _deploy(m, {"d0": m.a, "d2": m.b})
    m.world.call("swarm_update_host", uuid=m.b, fields={"status": "decommissioned"})
    return {("shard-host-unknown", m.name("d2")), ("shard-placement", m.name("d2"))}


def shard_of_unenrolled_host(m: Master):
    # A heartbeat that raced B's decommission: host and shards deleted, then
    # the handler's upsert lands. MariaDB's foreign key refuses that write.
    _deploy(m, {"d0": m.a, "d2": m.b})
    m.world.call("swarm_decommission", uuid=m.b)
    m.world.call("swarm_shard", host_uuid=m.b, decky=dict(m.deckies["d2"], host_uuid=m.b))
    m.save({"d0": m.a, "d2": m.b})
    # The state file still places d2 on the host that is gone.
    return {("shard-host-unknown", m.name("d2")), ("shard-placement", m.name("d2"))}


def worker_silent(m: Master):
    state = m.save({"d0": m.a, "d1": m.a, "d2": m.b})
    for host in (m.a, m.b):
        m.dispatch(host, m.of(state, host))
    m.heartbeat(m.a, m.of(state, m.a))
    m.heartbeat(m.b, m.of(state, m.b), age=5 * 60)  # its last one, 5 minutes ago
    return {("worker-silent", m.name("d2"))}


def worker_never_heartbeated(m: Master):
    state = m.save({"d0": m.a, "d2": m.b})
    m.dispatch(m.a, m.of(state, m.a))
    m.heartbeat(m.a, m.of(state, m.a))
    m.dispatch(m.b, m.of(state, m.b))  # dispatched, then silence
    return {("worker-silent", m.name("d2"))}


def heartbeat_within_three_intervals(m: Master):
    state = m.save({"d0": m.a, "d2": m.b})
    for host in (m.a, m.b):
        m.dispatch(host, m.of(state, host))
        m.heartbeat(host, m.of(state, host), age=60)  # two intervals: not silent
    return set()


def same_ip_on_masters_lan(m: Master):
    ip = m.deckies["d0"]["ip"]  # in the master's subnet: A and B sit on its LAN
    _deploy(m, {"d0": m.a, "d2": m.b}, ips={"d0": ip, "d2": ip})
    return {("swarm-duplicate-ip", m.name("d0")), ("swarm-duplicate-ip", m.name("d2"))}


def same_ip_on_other_lans(m: Master):
    # Both workers are on LANs other than the master's: DECNET re-allocates
    # their addresses from their own subnets, the same address on each.
    state = _deploy(m, {"d0": m.a, "d2": m.b})
    for host in (m.a, m.b):
        m.heartbeat(host, [dict(d, ip="172.20.0.10") for d in m.of(state, host)])
    return set()


SCENARIOS: list[Callable[[Master], set]] = [
    healthy, dispatch_failed, moved_decky, decky_dropped, host_decommissioned,
    shard_of_unenrolled_host, worker_silent, worker_never_heartbeated,
    heartbeat_within_three_intervals, same_ip_on_masters_lan, same_ip_on_other_lans,
]


def _alembic_schema(world: World, server) -> None:
    """The world's MariaDB tables made again by DECNET's own ``initialize()``
    (Alembic). The suite's fast path copies a template's tables with ``CREATE
    TABLE ... LIKE``, which keeps columns and indexes but drops foreign keys,
    and ``decky_shards.host_uuid -> swarm_hosts.uuid`` is one."""
    name = world.audit_db.rsplit("/", 1)[1]
    with server.begin() as conn:
        tables = [r[0] for r in conn.execute(text(f"SHOW TABLES FROM {name}"))]
        conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for table in tables:
            conn.execute(text(f"DROP TABLE {name}.`{table}`"))
        conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
    world.call("init_db")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_master_rules(make_world, backend, scenario, request):
    world = make_world(backend)
    if backend == "mariadb" and scenario is shard_of_unenrolled_host:
        _alembic_schema(world, request.getfixturevalue("mariadb_server"))
    m = master(world)
    try:
        expected = scenario(m)
    except DriverError as exc:
        # Only one write is refused, and only by MariaDB's foreign key.
        assert scenario is shard_of_unenrolled_host and backend == "mariadb", exc
        assert "foreign key" in str(exc).lower(), exc
        _record(scenario, backend, "refused by MariaDB's foreign key (cannot arise)", None)
        return
    run = world.audit("-v")
    fired = {(f["rule"], f["decky"]) for f in run.findings()}
    _record(scenario, backend, sorted(fired), sorted(expected))
    assert fired == expected, run.out + run.err
    assert run.rc == (1 if expected else 0), run.out + run.err
    ran = {c["rule"] for c in run.report["checks"]}
    assert set(MASTER_RULES) <= ran, ran  # the pack is active: decky_shards exists
    assert all(not f["fixable"] for f in run.findings())  # DECNET's controller owns these


def _record(scenario, backend, fired, expected) -> None:
    table = os.environ.get("DECNET_AUDIT_SWARM_TABLE")
    if table:
        with open(table, "a") as fh:
            fh.write(json.dumps({"scenario": scenario.__name__, "backend": backend,
                                 "fired": fired, "expected": expected}) + "\n")
