"""Every built-in rule through the installed CLI, against a real Docker engine
and both SQLite and MariaDB: a fleet where it fires, one where it does not,
and other hosts' rows in the same table, which the local rules leave alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from kit.fleet import DockerFleet, decky_config, run_cli, unique, write_state

# The core rules, named explicitly: rules other plugins add (on this machine or
# a colleague's) must not change what these tests expect.
CORE = "json-only,db-only,docker-mismatch,foreign-host-row"
PEER = "swarm-peer-01"

pytestmark = pytest.mark.docker


@dataclass
class World:
    """Real containers for five deckies, one per reconciler state."""

    fleet: DockerFleet
    services: dict[str, tuple[str, ...]]  # decky -> services
    docker_state: dict[str, str]  # decky -> the aggregate Docker shows

    def config(self, name: str, **kw) -> dict:
        return decky_config(name, services=self.services[name], **kw)


@pytest.fixture(scope="module")
def world(docker_client):
    fleet = DockerFleet(docker_client, os.environ.get("DOCKER_HOST",
                                                      "unix:///var/run/docker.sock"))
    p = unique("cli")
    w = World(fleet, {}, {})
    try:
        def add(name, services, state):
            w.services[name], w.docker_state[name] = services, state

        add(f"{p}-run", ("ssh", "http"), "running")
        fleet.decky(f"{p}-run", ("ssh", "http"))
        add(f"{p}-deg", ("ssh", "smtp_relay"), "degraded")
        fleet.decky(f"{p}-deg", ("ssh", "smtp_relay"), base=False,
                    running={"ssh": True, "smtp_relay": False})
        add(f"{p}-fail", ("ssh",), "failed")
        fleet.decky(f"{p}-fail", ("ssh",), base=False, running=False)
        add(f"{p}-gone", ("ssh",), "torn_down")  # no container at all
        add(f"{p}-old", ("smtp_relay",), "running")  # pre-label deploy: matched by name
        fleet.decky(f"{p}-old", ("smtp_relay",), base=False, labelled=False)
        yield w
    finally:
        fleet.cleanup()


def audit(world, tmp_path, db, deckies, *args, host_uuid="local"):
    state = write_state(tmp_path / "decnet-state.json", deckies)
    return run_cli("--state", str(state), "--db", db.url, "--docker-host", world.fleet.base_url,
                   "--host-uuid", host_uuid, "--select", CORE, *args,
                   json_path=tmp_path / "report.json", cwd=tmp_path)


def converge(world, db, names, host_uuid="local"):
    """Rows exactly as DECNET would hold them for ``names``."""
    for n in names:
        db.insert(host_uuid, n, services=world.services[n], state=world.docker_state[n],
                  decky_config=world.config(n))


def outcomes(run, rule):
    return {c["decky"]: c["outcome"] for c in run.report["checks"] if c["rule"] == rule}


# -- nothing to report --------------------------------------------------------------


@pytest.mark.parametrize("enrolled", [True, False], ids=["swarm_hosts", "no-swarm_hosts"])
def test_converged_fleet_with_peer_rows_exits_0(world, tmp_path, db, enrolled):
    names = sorted(world.services)
    converge(world, db, names)
    # Another host's rows: decky names this host does not run, states Docker
    # here cannot confirm (no containers), one stale. None is ours to judge.
    peers = [unique("peer"), unique("peer")]
    db.insert(PEER, peers[0], state="running")
    db.insert(PEER, peers[1], state="failed", last_error="compose up failed")
    if enrolled:
        db.enroll(PEER)

    run = audit(world, tmp_path, db, [world.config(n) for n in names])

    assert run.rc == 0, run.out + run.err
    assert run.findings() == []
    assert outcomes(run, "json-only") == dict.fromkeys(names, "passed")
    assert outcomes(run, "db-only") == dict.fromkeys(names, "passed")
    assert outcomes(run, "docker-mismatch") == dict.fromkeys(names, "passed")
    assert outcomes(run, "foreign-host-row") == dict.fromkeys(peers, "passed")
    assert run.report["summary"]["complete"] is True
    last = run.out.strip().splitlines()[-1]
    assert "passed" in last and "drifted" not in last and "error" not in last


# -- json-only -------------------------------------------------------------------------


def test_json_only_fires_for_a_decky_without_a_local_row(world, tmp_path, db):
    names = sorted(world.services)
    missing = names[0]
    converge(world, db, names[1:])

    run = audit(world, tmp_path, db, [world.config(n) for n in names])

    assert run.rc == 1, run.out + run.err
    assert run.drifted("json-only") == {missing}
    [f] = run.findings("json-only")
    assert (f["code"], f["host_uuid"], f["fixable"]) == ("DA001", "local", True)
    assert f"json-only::{missing}" in run.out
    assert "no row" in run.out
    assert {n for n, o in outcomes(run, "json-only").items() if o == "passed"} == set(names[1:])
    assert [f["rule"] for f in run.findings()] == ["json-only"]


def test_json_only_a_peers_row_is_not_this_hosts_row(world, tmp_path, db):
    name = sorted(world.services)[0]
    db.insert(PEER, name, services=world.services[name], state=world.docker_state[name])

    run = audit(world, tmp_path, db, [world.config(name)])

    assert run.rc == 1
    assert run.drifted("json-only") == {name}
    # ...and the peer's claim on a decky this host runs is its own finding.
    assert run.drifted("foreign-host-row") == {name}
    assert run.drifted("db-only") == set() and run.drifted("docker-mismatch") == set()


# -- db-only -----------------------------------------------------------------------------


def test_db_only_fires_for_a_local_row_without_a_decky(world, tmp_path, db):
    names = sorted(world.services)
    converge(world, db, names)
    leftover = unique("torn")
    db.insert("local", leftover, state="running")

    run = audit(world, tmp_path, db, [world.config(n) for n in names])

    assert run.rc == 1, run.out + run.err
    assert [(f["rule"], f["decky"], f["code"]) for f in run.findings()] == [
        ("db-only", leftover, "DA002")]
    assert outcomes(run, "db-only") == {**dict.fromkeys(names, "passed"), leftover: "drift"}
    assert "--fix --unsafe-fixes" in run.out  # db-only is an unsafe fix


def test_db_only_leaves_peer_rows_alone(world, tmp_path, db):
    name = sorted(world.services)[0]
    converge(world, db, [name])
    theirs = [unique("peer") for _ in range(3)]
    for n in theirs:  # not in this host's state file: normal for another host
        db.insert(PEER, n, state="running")

    run = audit(world, tmp_path, db, [world.config(name)])

    assert run.rc == 0, run.out + run.err
    assert outcomes(run, "db-only") == {name: "passed"}
    assert run.findings() == []


# -- docker-mismatch -------------------------------------------------------------------------


WRONG = {"running": "failed", "degraded": "running", "failed": "running",
         "torn_down": "running"}


def test_docker_mismatch_fires_for_every_state(world, tmp_path, db):
    names = sorted(world.services)
    for n in names:
        db.insert("local", n, services=world.services[n], state=WRONG[world.docker_state[n]])

    run = audit(world, tmp_path, db, [world.config(n) for n in names])

    assert run.rc == 1, run.out + run.err
    got = {f["decky"]: (f["actual"], f["expected"], f["field"])
           for f in run.findings("docker-mismatch")}
    assert got == {n: (WRONG[world.docker_state[n]], world.docker_state[n], "state")
                   for n in names}
    assert [f["rule"] for f in run.findings()] == ["docker-mismatch"] * len(names)
    deg = next(n for n in names if n.endswith("-deg"))
    assert f"{deg}-smtp-relay: exited" in run.out  # says which container is the matter


def test_docker_mismatch_judges_only_local_rows(world, tmp_path, db):
    names = sorted(world.services)
    converge(world, db, names)
    peer_only = unique("peer")
    db.insert(PEER, peer_only, state="running")  # nothing runs here: not our concern
    db.enroll(PEER)

    run = audit(world, tmp_path, db, [world.config(n) for n in names])

    assert run.rc == 0, run.out + run.err
    assert outcomes(run, "docker-mismatch") == dict.fromkeys(names, "passed")
    assert run.findings() == []


# -- foreign-host-row -------------------------------------------------------------------------


def test_foreign_host_row_fires_in_its_three_cases(world, tmp_path, db):
    names = sorted(world.services)
    converge(world, db, names)
    db.enroll(PEER)
    claimed = names[0]
    db.insert(PEER, claimed, state="running")            # a peer claims a decky we run
    stray_host, stray = "decommissioned-7", unique("stray")
    db.insert(stray_host, stray, state="running")          # a host not in swarm_hosts
    assigned = unique("assigned")                          # our file lists a peer's decky

    run = audit(world, tmp_path, db,
                [world.config(n) for n in names] + [decky_config(assigned, host_uuid=PEER)])

    assert run.rc == 1, run.out + run.err
    got = sorted((f["decky"], f["host_uuid"], f["fixable"])
                 for f in run.findings("foreign-host-row"))
    assert got == sorted([(claimed, PEER, False), (stray, stray_host, False),
                          (assigned, PEER, False)])
    assert {f["rule"] for f in run.findings()} == {"foreign-host-row"}
    assert "fixable:  no (report only)" in run.out
    # The peer's decky in our file is not a decky this host must have a row for.
    assert assigned not in outcomes(run, "json-only")


def test_foreign_host_row_quiet_for_enrolled_peers_own_deckies(world, tmp_path, db):
    names = sorted(world.services)
    converge(world, db, names)
    db.enroll(PEER, "swarm-peer-02")
    theirs = {unique("peer"): PEER, unique("peer"): "swarm-peer-02"}
    for n, host in theirs.items():
        db.insert(host, n, state="degraded")

    run = audit(world, tmp_path, db, [world.config(n) for n in names])

    assert run.rc == 0, run.out + run.err
    assert outcomes(run, "foreign-host-row") == dict.fromkeys(theirs, "passed")


def test_swarm_worker_sees_the_mothership_rows_as_foreign(world, tmp_path, db):
    # On a worker, host_uuid "local" is the mothership's sentinel: another host.
    me = "worker-0042"
    names = sorted(world.services)
    converge(world, db, names, host_uuid=me)
    db.insert("local", names[0], state="running")

    run = audit(world, tmp_path, db, [world.config(n, host_uuid=me) for n in names],
                host_uuid=me)

    assert run.rc == 1, run.out + run.err
    assert [(f["rule"], f["decky"], f["host_uuid"]) for f in run.findings()] == [
        ("foreign-host-row", names[0], "local")]
    assert outcomes(run, "json-only") == dict.fromkeys(names, "passed")
