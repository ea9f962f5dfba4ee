"""config-drift (DA006) on SQLite and MariaDB, through the installed CLI.

Docker plays no part in this rule, so these runs read an empty ``docker ps``
capture; the rule's run against the live engine is in test_four_rules_fleet.py.
"""

from __future__ import annotations

import json

from kit.fleet import decky_config, run_cli, unique, write_state


def audit(tmp_path, db, *extra):
    snap = tmp_path / "ps.jsonl"
    snap.write_text("")
    return run_cli("--state", str(tmp_path / "state.json"), "--db", db.url,
                   "--docker-snapshot", str(snap), "--select", "config-drift", "-v", *extra,
                   json_path=tmp_path / "r.json")


def test_config_drift_field_by_field(tmp_path, db):
    same, drifted, null_cfg, garbled = unique("same"), unique("dr"), unique("nc"), unique("gb")
    cfg = {n: decky_config(n, ("ssh", "http"), ip=f"10.8.0.{i}")
           for i, n in enumerate((same, drifted, null_cfg, garbled), 1)}
    write_state(tmp_path / "state.json", list(cfg.values()))

    # Same content, other key order, other service order: no drift.
    reordered = dict(reversed(list(cfg[same].items())))
    reordered["services"] = ["http", "ssh"]
    db.insert("local", same, ("http", "ssh"), ip="10.8.0.1", decky_config=reordered)
    db.insert("local", drifted, ("ssh", "ftp"), ip="10.8.0.99",
              decky_config={**cfg[drifted], "hostname": "renamed", "nmap_os": "windows"})
    db.insert("local", null_cfg, ("ssh", "http"), ip="10.8.0.3", decky_config=None)
    db.execute("INSERT INTO fleet_deckies (host_uuid, name, services, decky_config, decky_ip, "
               "state, updated_at) VALUES ('local', :n, :s, '{not json', '10.8.0.4', "
               "'running', '2026-01-01 00:00:00')", n=garbled, s=json.dumps(["ssh", "http"]))
    # A peer host's row of the same decky, different everywhere: not ours to judge.
    db.insert("peer-host-1", same, ("telnet",), ip="10.66.0.1",
              decky_config={**cfg[same], "hostname": "theirs"})

    run = audit(tmp_path, db)
    assert run.rc == 1, run.out + run.err
    got = {(f["decky"], f["field"]): (f["expected"], f["actual"])
           for f in run.findings("config-drift")}
    assert got == {
        (drifted, "services"): (["ssh", "http"], ["ssh", "ftp"]),
        (drifted, "decky_ip"): ("10.8.0.2", "10.8.0.99"),
        (drifted, "decky_config.hostname"): (f"host-{drifted}", "renamed"),
        (drifted, "decky_config.nmap_os"): ("linux", "windows"),
        (garbled, "decky_config"): (cfg[garbled], "{not json"),
    }
    assert all(f["host_uuid"] == "local" and f["fixable"] for f in run.findings())
    for passed in (same, null_cfg):
        assert f"config-drift::{passed} PASSED" in run.out
    assert "decky_config.hostname: row has 'renamed', state file has " in run.out


def test_config_drift_only_for_deckies_in_both(tmp_path, db):
    state_only, row_only = unique("st"), unique("row")
    write_state(tmp_path / "state.json", [decky_config(state_only, ip="10.8.1.1")])
    db.insert("local", row_only, ("ftp",), ip="10.8.1.1")
    run = audit(tmp_path, db)
    assert run.rc == 0, run.out + run.err
    assert run.report["checks"] == []  # json-only and db-only own these
