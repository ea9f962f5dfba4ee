"""The master pack (DA101-DA105) on fleets built in memory: fast checks of
each rule's logic. The same rules on DECNET-written masters, SQLite and
MariaDB, are in tests/conformance/test_swarm_master.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from decnet_audit.engine import audit
from decnet_audit.model import WORKER, Decky, Fleet, Shard, SwarmHost
from decnet_audit.rules.shard_host_unknown import ShardHostUnknown
from decnet_audit.rules.shard_placement import ShardPlacement
from decnet_audit.rules.shard_unlisted import ShardUnlisted
from decnet_audit.rules.swarm_duplicate_ip import SwarmDuplicateIp
from decnet_audit.rules.worker_silent import WorkerSilent

NOW = datetime(2026, 12, 1, 12, 0, 0)


def _decky(name, host, ip="192.168.1.10"):
    return Decky(name, ip, ("ssh",), host, {"name": name, "ip": ip, "host_uuid": host})


def _shard(name, host, ip="192.168.1.10", state="running"):
    return Shard(name, host, '["ssh"]', None, ip, state, last_seen=NOW)


def _fleet(deckies, shards, hosts=None, subnet="192.168.1.0/24", **kw):
    hosts = hosts if hosts is not None else {
        u: SwarmHost(u, u, "10.0.0.1", "active", NOW) for u in ("wa", "wb")}
    return Fleet("local", deckies, [], [], enrolled_hosts=frozenset(hosts), shards=shards,
                 swarm_hosts=hosts, subnet=subnet, **kw)


def _found(rule, fleet):
    return sorted((f.decky, f.field, f.actual) for f in rule.check(fleet))


def test_placement_needs_a_shard_on_the_placed_host():
    fleet = _fleet([_decky("a", "wa"), _decky("b", "wa"), _decky("c", None), _decky("d", "wb")],
                   [_shard("b", "wb"), _shard("c", "wa"), _shard("d", "wb")])
    assert _found(ShardPlacement(), fleet) == [
        ("a", None, "no shard"), ("b", "host_uuid", "wb"), ("c", "host_uuid", "wa")]


def test_placement_on_a_host_not_enrolled_or_decommissioned():
    hosts = {"wa": SwarmHost("wa", status="decommissioned")}
    fleet = _fleet([_decky("a", "wa"), _decky("g", "ghost")],
                   [_shard("a", "wa"), _shard("g", "ghost")], hosts=hosts)
    got = _found(ShardPlacement(), fleet)
    assert got == [("a", "host_uuid", "wa decommissioned"),
                   ("g", "host_uuid", "ghost not enrolled")]
    assert _found(ShardHostUnknown(), fleet) == [
        ("a", "host_uuid", "wa status decommissioned"), ("g", "host_uuid", "ghost not enrolled")]


def test_unlisted_shard():
    fleet = _fleet([_decky("a", "wa")], [_shard("a", "wa"), _shard("x", "wb", state="degraded")])
    assert _found(ShardUnlisted(), fleet) == [("x", None, "shard on wb, state degraded")]


@pytest.mark.parametrize("age, fires", [(None, True), (89, False), (91, True), (-30, False)])
def test_worker_silent_after_three_intervals(age, fires):
    beat = None if age is None else NOW - timedelta(seconds=age)
    hosts = {"wa": SwarmHost("wa", status="active", last_heartbeat=beat),
             "wb": SwarmHost("wb", status="active", last_heartbeat=NOW)}
    fleet = _fleet([], [_shard("a", "wa"), _shard("b", "wb")], hosts=hosts)
    got = [f.decky for f in WorkerSilent(now=lambda: NOW).check(fleet)]
    assert got == (["a"] if fires else [])


def test_worker_silent_reads_sqlite_text_and_options():
    hosts = {"wa": SwarmHost("wa", last_heartbeat="2026-12-01 11:59:00.000001")}
    fleet = _fleet([], [_shard("a", "wa")], hosts=hosts)
    assert [f.decky for f in WorkerSilent(now=lambda: NOW).check(fleet)] == []
    rule = WorkerSilent(heartbeat_interval_seconds=10, now=lambda: NOW)
    assert [f.decky for f in rule.check(fleet)] == ["a"]
    with pytest.raises(ValueError):
        WorkerSilent(missed_heartbeats=0)


def test_duplicate_ip_only_where_workers_share_a_network():
    fleet = _fleet(
        [_decky("a", "wa", "192.168.1.20"), _decky("b", "wb", "192.168.1.20"),
         _decky("c", "wa", "172.20.0.10"), _decky("d", "wb", "172.20.0.10"),
         _decky("e", "wa", "172.21.0.10"), _decky("f", "wa", "172.21.0.10")],
        [])
    got = sorted({f.decky for f in SwarmDuplicateIp().check(fleet)})
    # a/b on the master's subnet; e/f on one worker; c/d on two other LANs: fine
    assert got == ["a", "b", "e", "f"]
    shared = SwarmDuplicateIp(shared_subnets=("172.20.0.0/16",))
    assert sorted({f.decky for f in shared.check(fleet)}) == ["a", "b", "c", "d", "e", "f"]
    with pytest.raises(ValueError):
        SwarmDuplicateIp(shared_subnets=("not-a-net",))


def test_pack_is_not_applicable_without_decky_shards_or_on_a_worker():
    rules = [ShardPlacement(), ShardUnlisted(), ShardHostUnknown(), WorkerSilent(),
             SwarmDuplicateIp()]
    unihost = Fleet("local", [_decky("a", None)], [], [], sources={})
    result = audit(unihost, rules)
    assert result.checks == [] and set(result.not_applicable) == {r.id for r in rules}
    assert "not a swarm master" in result.not_applicable["shard-placement"]
    worker = Fleet("wa", [_decky("a", "wa")], [], [], role=WORKER)
    assert all("worker" in (r.not_applicable(worker) or "") for r in rules)
    master = _fleet([_decky("a", "wa")], [_shard("a", "wa")])
    assert all(r.not_applicable(master) is None for r in rules)
    # DECNET's schema creates both tables everywhere: empty, they are no swarm.
    schema_only = _fleet([_decky("a", None)], [], hosts={})
    assert all("no swarm" in r.not_applicable(schema_only) for r in rules)
    enrolled_only = _fleet([], [], hosts={"wa": SwarmHost("wa")})
    assert all(r.not_applicable(enrolled_only) is None for r in rules)
