"""``--fix`` against the live Docker engine: rows from what Docker shows, and
the unsafe removal of orphan containers (only those proven this deployment's)."""

from __future__ import annotations

import json

import docker.errors
import pytest

from kit.fleet import decky_config, run_cli, unique, write_state

pytestmark = pytest.mark.docker


def test_rows_converge_on_what_the_live_engine_shows(tmp_path, db, docker_fleet):
    up, half, new = unique("fxl-up"), unique("fxl-half"), unique("fxl-new")
    docker_fleet.decky(up, ("ssh",))
    docker_fleet.decky(half, ("ssh", "http"), running={"ssh": True, "http": False})
    docker_fleet.decky(new, ("ssh",), running=False)
    state = write_state(tmp_path / "s.json", [
        decky_config(up), decky_config(half, services=("ssh", "http")), decky_config(new)])
    db.insert("local", up, state="failed")
    db.insert("local", half, services=("ssh", "http"), state="running")
    args = ["--state", str(state), "--db", db.url, "--docker-host", docker_fleet.base_url,
            "--host-uuid", "local", "--select", "json-only,docker-mismatch", "-k",
            f"{up} or {half} or {new}"]
    fix = run_cli(*args, "--fix", "--journal", str(tmp_path / "j.json"))
    assert fix.rc == 0, fix.out + fix.err
    states = {r["name"]: r["state"] for r in db.rows()}
    assert states == {up: "running", half: "degraded", new: "failed"}
    audit = run_cli(*args)
    assert audit.rc == 0, audit.out


def test_orphan_containers_removed_only_if_ours_and_unsafe(tmp_path, sqlite_db,
                                                                     docker_fleet,
                                                                     docker_client):
    orphan = unique("fxl-orphan")
    # DECNET's layout: a base container with compose's labels only, service
    # containers with DECNET's labels too; a compose file of this test's own,
    # so that no other test's containers count as this deployment's.
    docker_fleet.compose_file = str(tmp_path / "decnet-compose.yml")
    docker_fleet.decky(orphan, ("ssh", "http"), running={"ssh": True, "http": False})
    state = write_state(tmp_path / "s.json", [decky_config(unique("fxl-other"))],
                        compose_path=docker_fleet.compose_file)
    args = ["--state", str(state), "--db", sqlite_db.url, "--docker-host",
            docker_fleet.base_url, "--host-uuid", "local", "--select", "orphan-container",
            "-k", orphan]

    safe = run_cli(*args, "--fix", "--journal", str(tmp_path / "none.json"),
                   json_path=tmp_path / "r0.json")
    assert safe.rc == 1
    assert {f["fix_status"] for f in safe.findings()} == {"skipped"}
    assert not (tmp_path / "none.json").exists()

    # Three containers of one decky: no mass removal (--max-removals 2 makes it one).
    unconfirmed = run_cli(*args, "--fix", "--unsafe-fixes", "--max-removals", "2",
                          json_path=tmp_path / "r1.json")
    assert unconfirmed.rc == 1
    assert {f["fix_status"] for f in unconfirmed.findings()} == {"refused"}
    assert "would remove 3 containers of 1 decky, more than --max-removals 2" in unconfirmed.out
    assert len(docker_client.containers.list(all=True, filters={"name": orphan})) == 3

    unsafe = run_cli(*args, "--fix", "--unsafe-fixes",
                     "--journal", str(tmp_path / "j.json"), json_path=tmp_path / "r.json")
    assert unsafe.rc == 0, unsafe.out + unsafe.err
    got = {f["field"]: f["fix_status"] for f in unsafe.findings()}
    assert got == {orphan: "fixed", f"{orphan}-ssh": "fixed", f"{orphan}-http": "fixed"}
    assert docker_client.containers.list(all=True, filters={"name": orphan}) == []
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(f"{orphan}-ssh")

    entries = json.loads((tmp_path / "j.json").read_text())["changes"]
    assert {(e["target"], e["name"], e["undoable"], e["status"]) for e in entries} == {
        ("container", orphan, False, "fixed"),
        ("container", f"{orphan}-ssh", False, "fixed"),
        ("container", f"{orphan}-http", False, "fixed")}
    undo = run_cli("undo", str(tmp_path / "j.json"), "--db", sqlite_db.url,
                   "--journal", str(tmp_path / "u.json"))
    assert undo.rc == 1
    assert f"not undoable: container (local, {orphan}-ssh): a removed container cannot be " \
           f"brought back" in undo.out
