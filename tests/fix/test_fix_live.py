"""``--fix`` against the live Docker engine: rows from what Docker shows, and
the unsafe removal of orphan containers (only DECNET-labelled ones)."""

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


def test_orphan_containers_removed_only_if_labelled_and_unsafe(tmp_path, sqlite_db, docker_fleet,
                                                                docker_client):
    orphan = unique("fxl-orphan")
    # DECNET's layout: an unlabelled base container, labelled service containers.
    docker_fleet.decky(orphan, ("ssh", "http"), running={"ssh": True, "http": False})
    state = write_state(tmp_path / "s.json", [decky_config(unique("fxl-other"))])
    args = ["--state", str(state), "--db", sqlite_db.url, "--docker-host",
            docker_fleet.base_url, "--host-uuid", "local", "--select", "orphan-container",
            "-k", orphan]

    safe = run_cli(*args, "--fix", "--journal", str(tmp_path / "none.json"),
                   json_path=tmp_path / "r0.json")
    assert safe.rc == 1
    assert {f["fix_status"] for f in safe.findings()} == {"skipped"}
    assert not (tmp_path / "none.json").exists()

    unsafe = run_cli(*args, "--fix", "--unsafe-fixes", "--journal", str(tmp_path / "j.json"),
                     json_path=tmp_path / "r.json")
    # The unlabelled base container stays; without labelled siblings the
    # re-audit no longer ties it to a decky, so nothing is left to report.
    assert unsafe.rc == 0, unsafe.out + unsafe.err
    got = {f["field"]: (f["fix_status"], f["fix_detail"]) for f in unsafe.findings()}
    assert got[f"{orphan}-ssh"][0] == got[f"{orphan}-http"][0] == "fixed"
    assert got[orphan] == ("skipped", "report only: no fix from this host")
    remaining = {c.name for c in docker_client.containers.list(
        all=True, filters={"name": orphan})}
    assert remaining == {orphan}
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(f"{orphan}-ssh")

    entries = json.loads((tmp_path / "j.json").read_text())["changes"]
    assert {(e["target"], e["name"], e["undoable"], e["status"]) for e in entries} == {
        ("container", f"{orphan}-ssh", False, "fixed"),
        ("container", f"{orphan}-http", False, "fixed")}
    undo = run_cli("undo", str(tmp_path / "j.json"), "--db", sqlite_db.url,
                   "--journal", str(tmp_path / "u.json"))
    assert undo.rc == 1
    assert f"not undoable: container (local, {orphan}-ssh): a removed container cannot be " \
           f"brought back" in undo.out
