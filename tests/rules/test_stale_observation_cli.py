"""stale-observation (DA007) on SQLite and MariaDB with a real Docker engine:
a row still saying ``running`` well after Docker says its container finished.

The threshold is a config option; these tests set it to a second so that
"long ago" is a short wait (the default is 10 minutes)."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest

from kit.fleet import DockerFleet, decky_config, now, run_cli, unique, write_state

SERVICE = {"decnet.fleet.service": "true", "decnet.fleet.service_name": "ssh"}
THRESHOLD = "[rules.stale-observation]\nmax_age_minutes = 0.02\n"  # 1.2 s


@pytest.fixture(scope="module")
def engine(docker_client):
    fleet = DockerFleet(docker_client, os.environ.get("DOCKER_HOST", ""))
    n = SimpleNamespace(dead=unique("dead"), written=unique("wrote"), failed=unique("fail"),
                        alive=unique("alive"), gone=unique("gone"), never=unique("never"),
                        null=unique("null"))
    try:
        for name in (n.dead, n.written, n.failed):
            fleet.decky(name, running={"ssh": False})  # started, then killed: exited
        for name in (n.alive, n.null):
            fleet.decky(name)
        fleet.container(n.never)
        fleet.container(f"{n.never}-ssh", running=False,  # created, never started
                        labels={**SERVICE, "decnet.fleet.decky": n.never})
        fleet.container(n.gone)  # a base container; its ssh container was removed
        time.sleep(1.5)  # every death above is now older than the threshold
        yield n
    finally:
        fleet.cleanup()


def fill(tmp_path, db, n):
    t = now()
    names = list(vars(n).values())
    write_state(tmp_path / "state.json",
                [decky_config(x, ip=f"10.8.0.{i}") for i, x in enumerate(names, 1)])
    old = t - timedelta(hours=2)
    for name in names:
        db.insert("local", name, state="failed" if name == getattr(n, "failed", 0) else "running",
                  ip="10.8.0.9", updated_at=old,
                  last_seen=None if name == getattr(n, "null", 0) else old)
    # Written after the container died (by a deploy, say): the clock starts there.
    db.execute("UPDATE fleet_deckies SET updated_at = :u WHERE name = :n",
               u=t + timedelta(hours=1), n=getattr(n, "written", ""))
    # A peer host's row of the dead decky: its reconciler's business, not ours.
    db.insert("peer-host-1", n.dead, ip="10.8.0.9", updated_at=old)
    (tmp_path / "cfg.toml").write_text(THRESHOLD)
    return names


@pytest.mark.docker
def test_a_dead_container_behind_a_running_row_long_ago_is_a_stopped_reconciler(
        tmp_path, db, engine):
    n = engine
    names = fill(tmp_path, db, n)
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", db.url, "--config",
                  str(tmp_path / "cfg.toml"), "--select", "stale-observation", "-v",
                  json_path=tmp_path / "r.json")
    assert run.rc == 1, run.out + run.err
    found = {f["decky"]: f for f in run.findings("stale-observation")}
    assert set(found) == {n.dead}
    f = found[n.dead]
    assert f["host_uuid"] == "local" and not f["fixable"] and f["actual"] == "running"
    assert f"but {n.dead}-ssh has been exited since" in f["message"]
    assert "DECNET's reconciler, ticking every 30 s, would have changed" in f["message"]
    # Not a stopped reconciler: a row written since, a row already saying
    # failed, running containers (NULL last_seen or not), a removed container
    # (no time left behind), a container that never ran.
    for ok in (n.written, n.failed, n.alive, n.null, n.gone, n.never):
        assert f"stale-observation::{ok} PASSED" in run.out
    checks = [c for c in run.report["checks"] if c["decky"] in names]
    assert len(checks) == len(names)  # one check per row of this host, the peer's aside


@pytest.mark.docker
def test_under_the_default_threshold_a_fresh_death_is_not_stale(tmp_path, sqlite_db, engine):
    fill(tmp_path, sqlite_db, engine)
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", sqlite_db.url,
                  "--select", "stale-observation", json_path=tmp_path / "r.json")
    assert run.rc == 0, run.out + run.err


def test_without_docker_it_makes_no_claim(tmp_path, sqlite_db):
    n = SimpleNamespace(dead=unique("dead"))
    fill(tmp_path, sqlite_db, n)
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", sqlite_db.url,
                  "--docker-host", f"unix://{tmp_path}/no-docker.sock",
                  "--select", "stale-observation", json_path=tmp_path / "r.json")
    assert run.rc == 2  # incomplete: Docker was not read
    assert run.findings("stale-observation") == []
    assert "docker not read" in run.out
