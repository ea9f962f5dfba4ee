"""stale-observation (DA007) on SQLite and MariaDB, with a real Docker engine
for the "NULL while its containers run" case."""

from __future__ import annotations

import os
from datetime import timedelta
from types import SimpleNamespace

import pytest

from kit.fleet import DockerFleet, decky_config, now, run_cli, unique, write_state

SERVICE = {"decnet.fleet.service": "true", "decnet.fleet.service_name": "ssh"}


@pytest.fixture(scope="module")
def engine(docker_client):
    fleet = DockerFleet(docker_client, os.environ.get("DOCKER_HOST", ""))
    n = SimpleNamespace(running=unique("run"), idle=unique("idle"))
    try:
        fleet.container(f"{n.running}-ssh", running=True,
                        labels={**SERVICE, "decnet.fleet.decky": n.running})
        fleet.container(f"{n.idle}-ssh", running=False,
                        labels={**SERVICE, "decnet.fleet.decky": n.idle})
        yield n
    finally:
        fleet.cleanup()


def fill(tmp_path, db, n):
    t = now()
    n.fresh, n.old, n.iso, n.absent = unique("fresh"), unique("old"), unique("iso"), unique("abs")
    names = [n.fresh, n.old, n.iso, n.absent, n.running, n.idle]
    write_state(tmp_path / "state.json",
                [decky_config(x, ip=f"10.7.0.{i}") for i, x in enumerate(names, 1)])
    db.insert("local", n.fresh, ip="10.7.0.1", last_seen=t - timedelta(minutes=1))
    db.insert("local", n.old, ip="10.7.0.2", last_seen=t - timedelta(minutes=45))
    # As another writer might store it: ISO 'T' and microseconds (SQLite keeps
    # the text as is; MariaDB parses it into its DATETIME).
    db.execute("INSERT INTO fleet_deckies (host_uuid, name, services, decky_ip, state, "
               "last_seen, updated_at) VALUES ('local', :n, '[\"ssh\"]', '10.7.0.3', "
               "'running', :seen, :upd)", n=n.iso, upd=t,
               seen=(t - timedelta(hours=3)).isoformat(timespec="microseconds"))
    db.insert("local", n.absent, ip="10.7.0.4", last_seen=None)
    db.insert("local", n.running, ip="10.7.0.5", last_seen=None)
    db.insert("local", n.idle, ip="10.7.0.6", last_seen=None)
    # A peer host's rows, long unobserved: its reconciler's business, not ours.
    db.insert("peer-host-1", n.old, ip="10.7.0.2", last_seen=t - timedelta(days=2))
    db.insert("peer-host-1", n.running, ip="10.7.0.5", last_seen=None)
    return names


@pytest.mark.docker
def test_stale_observation(tmp_path, db, engine):
    n = engine
    names = fill(tmp_path, db, n)
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", db.url,
                  "--select", "stale-observation", "-v", json_path=tmp_path / "r.json")
    assert run.rc == 1, run.out + run.err
    found = {f["decky"]: f for f in run.findings("stale-observation")}
    assert set(found) == {n.old, n.iso, n.running}
    assert all(f["host_uuid"] == "local" and not f["fixable"] for f in found.values())
    assert "is 45 min old (threshold 10 min)" in found[n.old]["message"]
    assert "is 3.0 h old" in found[n.iso]["message"]
    assert found[n.running]["actual"] is None
    assert f"last_seen is NULL but {n.running}-ssh is running" in found[n.running]["message"]
    for ok in (n.fresh, n.absent, n.idle):
        assert f"stale-observation::{ok} PASSED" in run.out
    # One check per row of this host: the peer's rows are not examined.
    checks = [c for c in run.report["checks"] if c["decky"] in names]
    assert len(checks) == len(names)


def test_stale_observation_without_docker_judges_only_the_age(tmp_path, sqlite_db):
    n = SimpleNamespace(running=unique("run"), idle=unique("idle"))
    fill(tmp_path, sqlite_db, n)
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", sqlite_db.url,
                  "--docker-host", f"unix://{tmp_path}/no-docker.sock",
                  "--select", "stale-observation", json_path=tmp_path / "r.json")
    assert run.rc == 2  # incomplete: Docker was not read
    assert run.drifted("stale-observation") == {n.old, n.iso}
