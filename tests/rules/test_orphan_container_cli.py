"""orphan-container (DA005) against a real Docker engine, on SQLite and MariaDB.

Other tests create containers on the same engine at the same time, and those
are orphans from this test's point of view: every assertion is about the
containers this module created (unique names), never about the engine's total.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from decnet_audit.engine import Sources, observe
from decnet_audit.rules.orphan_container import OrphanContainer
from kit.fleet import DockerFleet, compose_labels, decky_config, run_cli, unique, write_state


def labels(decky: str, service: str) -> dict:
    # As DECNET's deploy leaves them: its own labels and compose's, for the
    # compose_path that write_state records (the proof that they are ours).
    return {"decnet.fleet.service": "true", "decnet.fleet.decky": decky,
            "decnet.fleet.service_name": service, **compose_labels(f"{decky}-{service}")}


@pytest.fixture(scope="module")
def engine(docker_client):
    """One set of containers for the whole module (starting containers is the
    slow part); the database side is rebuilt per test and per backend.
    Containers are only created, not started, unless running matters."""
    fleet = DockerFleet(docker_client, os.environ.get("DOCKER_HOST", ""))
    n = SimpleNamespace(
        local=unique("loc"), state_only=unique("st"), row_only=unique("row"),
        peer_known=unique("pk"), gone=unique("gone"), old=unique("old"),
        moved=unique("mv"), plain=unique("plain"), lone=unique("lone"),
    )
    make = fleet.container
    try:
        # Deckies this host knows of: never orphans, labelled or not.
        make(n.local, running=False)
        make(f"{n.local}-ssh", running=False, labels=labels(n.local, "ssh"))
        make(f"{n.local}-smtp-relay", running=False)  # an old deploy's: no labels
        make(f"{n.state_only}-http", running=False, labels=labels(n.state_only, "http"))
        make(f"{n.row_only}-ssh", running=False, labels=labels(n.row_only, "ssh"))
        make(f"{n.peer_known}-ssh", running=False, labels=labels(n.peer_known, "ssh"))
        # Orphans.
        make(n.gone, running=False)                                   # its base
        make(f"{n.gone}-ssh", running=True, labels=labels(n.gone, "ssh"))
        make(n.old, running=False)                                    # unlabelled deploy:
        make(f"{n.old}-http", running=False)                          # base + known service
        make(f"{n.moved}-telnet", running=False)                      # named per a peer row
        # Ordinary containers that only look a little like a decky's.
        make(n.plain, running=False)
        make(f"{n.plain}-web", running=False)   # "web" is no service of this fleet
        make(f"{n.lone}-ssh", running=False)    # a known service, but no base "<lone>"
        n.gone_ssh_id = docker_client.containers.get(f"{n.gone}-ssh").id
        yield n
    finally:
        fleet.cleanup()


def records(tmp_path, db, n):
    write_state(tmp_path / "state.json", [
        decky_config(n.local, ("ssh", "smtp_relay"), ip="10.9.0.1"),
        decky_config(n.state_only, ("http",), ip="10.9.0.2"),
    ])
    db.insert("local", n.local, ("ssh", "smtp_relay"), ip="10.9.0.1")
    db.insert("local", n.row_only, ip="10.9.0.3")
    db.insert("local", n.peer_known, ip="10.9.0.5")
    # Peer rows: a decky recorded only for another host is not this host's
    # (moved); one recorded for both (peer_known) is.
    db.insert("peer-host-1", n.moved, ("telnet",), ip="10.9.0.4")
    db.insert("peer-host-1", n.peer_known, ip="10.9.0.5")
    return tmp_path / "state.json"


@pytest.mark.docker
def test_orphan_containers(tmp_path, db, engine):
    n = engine
    state = records(tmp_path, db, n)
    run = run_cli("--state", str(state), "--db", db.url, "--select", "orphan-container", "-v",
                  json_path=tmp_path / "r.json")
    assert run.rc == 1, run.out + run.err
    mine = set(vars(n).values())
    assert run.drifted("orphan-container") & mine == {n.gone, n.old, n.moved}
    findings = {f["actual"].split()[1]: f for f in run.findings("orphan-container")
                if f["decky"] in mine}
    assert {name: f["fixable"] for name, f in findings.items()} == {
        n.gone: False, f"{n.gone}-ssh": True,    # only the labelled one may be removed
        n.old: False, f"{n.old}-http": False,
        f"{n.moved}-telnet": False,
    }
    assert (f"container {n.gone}-ssh (running, labelled decnet.fleet.decky={n.gone})"
            in findings[f"{n.gone}-ssh"]["message"])
    assert n.plain not in run.out and n.lone not in run.out
    # Deckies this host knows of are checks that passed, found by label or by name.
    for known in (n.local, n.state_only, n.row_only, n.peer_known):
        assert f"orphan-container::{known} PASSED" in run.out

    # What --fix --unsafe-fixes is handed: the removal of the labelled
    # container only, as observed (by id), on this host.
    fleet = observe(Sources(state_path=state, db_url=db.url,
                            docker_host=os.environ.get("DOCKER_HOST")))
    rule = OrphanContainer()
    changes = [c for f in rule.check(fleet) if f.decky in mine for c in rule.fix(f, fleet)]
    assert [(c.op, c.target, c.host_uuid, c.name, c.values["id"]) for c in changes] == [
        ("remove", "container", "local", f"{n.gone}-ssh", n.gone_ssh_id)]


@pytest.mark.docker
def test_orphan_check_passes_once_the_records_name_the_decky(tmp_path, sqlite_db, engine):
    n = engine
    state = records(tmp_path, sqlite_db, n)
    for orphan in (n.gone, n.old):
        sqlite_db.insert("local", orphan, ip=None)
    sqlite_db.insert("local", n.moved, ("telnet",))
    run = run_cli("--state", str(state), "--db", sqlite_db.url,
                  "--select", "orphan-container", json_path=tmp_path / "r.json")
    assert run.drifted("orphan-container") & set(vars(n).values()) == set()


def test_orphan_container_needs_docker(tmp_path, sqlite_db):
    write_state(tmp_path / "state.json", [decky_config(unique(), ip="10.9.2.1")])
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", sqlite_db.url,
                  "--docker-host", f"unix://{tmp_path}/no-docker.sock",
                  "--select", "orphan-container", json_path=tmp_path / "r.json")
    assert run.rc == 2
    [check] = run.report["checks"]
    assert check["outcome"] == "error" and "docker not read" in check["error"]
