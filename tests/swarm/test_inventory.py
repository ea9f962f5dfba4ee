"""The JSON report's inventory (schema 2): what the host observed, decky by decky."""

from __future__ import annotations

from kit.fleet import decky_config, run_cli, unique, write_state
from kit.report import PsCapture


def test_inventory_lists_every_decky_with_entry_state_and_containers(tmp_path, sqlite_db):
    ok, half, gone, orphan = (unique(p) for p in ("ok", "half", "gone", "orph"))
    entries = [decky_config(ok, services=("ssh", "smtp_relay")),
               decky_config(half, services=("ssh", "http")),
               decky_config(gone, services=("ssh",))]
    write_state(tmp_path / "state.json", entries)
    for cfg in entries:
        sqlite_db.insert("local", cfg["name"], services=cfg["services"], ip=cfg["ip"])
    ps = PsCapture(tmp_path / "ps.jsonl")
    ps.decky(ok, ("ssh", "smtp_relay"))
    ps.decky(half, ("ssh",))
    ps.container(f"{half}-http", running=False, labels={
        "decnet.fleet.decky": half, "decnet.fleet.service_name": "http"})
    ps.decky(orphan, ("ftp",), running=False)
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", sqlite_db.url, *ps.args(),
                  json_path=tmp_path / "r.json")
    assert run.rc == 1, run.out + run.err
    inv = run.report["inventory"]
    assert inv["role"] == "master" and inv["subnet"] == "192.168.1.0/24"
    assert inv["docker_observed"] is True and inv["shards"] is None
    by = {d["name"]: d for d in inv["deckies"]}
    assert list(by) == sorted([ok, half, gone, orphan])
    assert by[ok]["entry"] == entries[0] and by[ok]["in_state_file"] is True
    assert (by[ok]["docker_state"], by[ok]["running"]) == ("running", True)
    assert [c["name"] for c in by[ok]["containers"]] == sorted(
        [ok, f"{ok}-ssh", f"{ok}-smtp-relay"])
    assert (by[half]["docker_state"], by[half]["running"]) == ("degraded", True)
    assert (by[gone]["docker_state"], by[gone]["running"], by[gone]["containers"]) == (
        "torn_down", False, [])
    # An orphan: no entry; its base container runs, its service container does not.
    assert by[orphan]["entry"] is None and by[orphan]["in_state_file"] is False
    assert by[orphan]["docker_state"] == "failed" and by[orphan]["running"] is True
    states = {c["name"]: (c["state"], c["service"]) for c in by[orphan]["containers"]}
    assert states == {orphan: ("running", None), f"{orphan}-ftp": ("exited", "ftp")}


def test_inventory_without_docker_says_so(tmp_path, sqlite_db):
    name = unique()
    write_state(tmp_path / "state.json", [decky_config(name)])
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", sqlite_db.url,
                  "--docker-host", "unix:///nonexistent.sock", json_path=tmp_path / "r.json")
    assert run.rc == 2, run.out + run.err
    inv = run.report["inventory"]
    assert inv["docker_observed"] is False
    assert inv["deckies"] == [{"name": name, "host_uuid": None, "in_state_file": True,
                               "entry": decky_config(name), "docker_state": None,
                               "running": None, "containers": []}]
