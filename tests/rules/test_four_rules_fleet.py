"""The four rules of issue 6 together, on one fleet with one drift of each
class, against the real Docker engine and SQLite and MariaDB: each rule
reports its own drift and nothing of the others'."""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest

from kit.fleet import DockerFleet, decky_config, now, run_cli, unique, write_state

RULES = ("orphan-container", "config-drift", "stale-observation", "duplicate-ip")


@pytest.fixture(scope="module")
def engine(docker_client):
    fleet = DockerFleet(docker_client, os.environ.get("DOCKER_HOST", ""))
    n = SimpleNamespace(**{k: unique(k) for k in ("ok", "orphan", "cfg", "stale", "dup1", "dup2")})
    try:
        for name in vars(n).values():  # created, never started: only names matter here
            if name == n.stale:
                continue
            fleet.container(f"{name}-ssh", running=False, labels={
                "decnet.fleet.service": "true", "decnet.fleet.decky": name,
                "decnet.fleet.service_name": "ssh"})
        # The stale decky's container died; its row will still say running.
        fleet.decky(n.stale, base=False, running={"ssh": False})
        time.sleep(1.5)  # longer ago than the threshold the test sets
        yield n
    finally:
        fleet.cleanup()


@pytest.mark.docker
def test_each_rule_reports_only_its_own_drift(tmp_path, db, engine):
    n = engine
    fresh = now() - timedelta(minutes=1)
    ips = {n.ok: "10.5.0.1", n.cfg: "10.5.0.2", n.stale: "10.5.0.3",
           n.dup1: "10.5.0.4", n.dup2: "10.5.0.4"}
    write_state(tmp_path / "state.json", [decky_config(x, ip=ip) for x, ip in ips.items()])
    for name, ip in ips.items():
        db.insert("local", name, ip=ip, state="running" if name == n.stale else "failed",
                  decky_config=decky_config(name, ip=ip), last_seen=fresh,
                  updated_at=now() - timedelta(hours=1))
    db.execute("UPDATE fleet_deckies SET services = '[\"ssh\", \"ftp\"]' WHERE name = :n",
               n=n.cfg)
    # Peer rows naming the same deckies, each drifted every way: never ours.
    for name in (n.ok, n.cfg, n.stale):
        db.insert("peer-host-1", name, ("telnet",), ip="10.5.0.1",
                  last_seen=now() - timedelta(days=1))

    metrics = tmp_path / "decnet_audit.prom"
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[rules.stale-observation]\nmax_age_minutes = 0.02\n")
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", db.url, "--config", str(cfg),
                  "--select", ",".join(RULES), "--metrics", str(metrics),
                  json_path=tmp_path / "r.json")
    assert run.rc == 1, run.out + run.err
    mine = set(vars(n).values())
    assert {r: run.drifted(r) & mine for r in RULES} == {
        "orphan-container": {n.orphan},
        "config-drift": {n.cfg},
        "stale-observation": {n.stale},
        "duplicate-ip": {n.dup1, n.dup2},
    }
    assert all(f["host_uuid"] == "local" for f in run.findings() if f["decky"] in mine)
    text = metrics.read_text()
    assert 'decnet_audit_source_up{source="docker"} 1' in text
    host = f'host_uuid="local",hostname="{socket.gethostname()}"'
    assert f'decnet_audit_findings{{{host},rule="config-drift",severity="low",outcome="drift"}} 1' \
        in text
