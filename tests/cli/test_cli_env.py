"""DECNET's environment drives the defaults: with no option given, the CLI
audits what DECNET itself would read."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from kit.fleet import decky_config, run_cli, unique, write_state

CORE = "json-only,db-only,docker-mismatch,foreign-host-row"

# Variables that, left over in the caller's environment, would decide instead.
CLEAN = {k: "" for k in ("DECNET_DB_URL", "DECNET_DB_TYPE", "DECNET_DB_HOST", "DECNET_DB_PORT",
                         "DECNET_DB_NAME", "DECNET_DB_USER", "DECNET_DB_PASSWORD",
                         "DECNET_DB_PATH", "DECNET_STATE_FILE", "DECNET_HOST_UUID")}


def fleet_with_one_drift(tmp_path, db, host_uuid="local"):
    """A state file and rows that differ by exactly one decky on each side."""
    ok, js, dbo = unique("ok"), unique("js"), unique("dbo")
    state = write_state(tmp_path / "elsewhere-state.json",
                        [decky_config(ok, host_uuid=None), decky_config(js)])
    db.insert(host_uuid, ok, state="torn_down")
    db.insert(host_uuid, dbo, state="torn_down")
    return state, js, dbo


def empty_capture(tmp_path):
    path = tmp_path / "docker-ps.jsonl"
    path.write_text("")
    return ["--docker-snapshot", str(path)]


def mysql_parts(db) -> dict:
    url = make_url(db.url)
    return {"DECNET_DB_TYPE": "mysql", "DECNET_DB_HOST": url.host,
            "DECNET_DB_PORT": str(url.port), "DECNET_DB_NAME": url.database,
            "DECNET_DB_USER": url.username, "DECNET_DB_PASSWORD": url.password or ""}


def check_audited(run, js, dbo):
    assert run.rc == 1, run.out + run.err
    assert run.drifted("json-only") == {js}
    assert run.drifted("db-only") == {dbo}


def test_sqlite_from_decnet_db_path_and_state_file_from_env(tmp_path, sqlite_db):
    state, js, dbo = fleet_with_one_drift(tmp_path, sqlite_db)
    path = make_url(sqlite_db.url).database
    run = run_cli(*empty_capture(tmp_path), "--select", CORE, json_path=tmp_path / "r.json",
                  env={**CLEAN, "DECNET_DB_PATH": path, "DECNET_STATE_FILE": str(state)},
                  cwd=tmp_path)
    check_audited(run, js, dbo)
    assert run.report["sources"]["db"]["where"] == f"sqlite:///{path}"
    assert run.report["sources"]["state"]["where"] == str(state)


@pytest.mark.mariadb
def test_mysql_from_the_parts(tmp_path, mariadb_db):
    state, js, dbo = fleet_with_one_drift(tmp_path, mariadb_db)
    env = {**CLEAN, **mysql_parts(mariadb_db), "DECNET_STATE_FILE": str(state)}
    run = run_cli(*empty_capture(tmp_path), "--select", CORE, json_path=tmp_path / "r.json",
                  env=env, cwd=tmp_path)
    check_audited(run, js, dbo)
    where = run.report["sources"]["db"]["where"]
    assert where.startswith("mysql+pymysql://") and where.endswith(f"/{env['DECNET_DB_NAME']}")


@pytest.mark.mariadb
def test_decnets_async_url_from_decnet_db_url(tmp_path, mariadb_db):
    state, js, dbo = fleet_with_one_drift(tmp_path, mariadb_db)
    url = make_url(mariadb_db.url).set(drivername="mysql+asyncmy")
    env = {**CLEAN, "DECNET_DB_URL": url.render_as_string(hide_password=False),
           "DECNET_DB_TYPE": "sqlite",  # the full URL wins over the parts
           "DECNET_STATE_FILE": str(state)}
    run = run_cli(*empty_capture(tmp_path), "--select", CORE, json_path=tmp_path / "r.json",
                  env=env, cwd=tmp_path)
    check_audited(run, js, dbo)
    assert run.report["sources"]["db"]["where"].startswith("mysql+asyncmy://")


def test_options_win_over_the_environment(tmp_path, sqlite_db):
    state, js, dbo = fleet_with_one_drift(tmp_path, sqlite_db)
    env = {**CLEAN, "DECNET_DB_URL": "sqlite:////nonexistent/decnet.db",
           "DECNET_STATE_FILE": "/nonexistent/state.json", "DECNET_HOST_UUID": "someone-else"}
    run = run_cli("--state", str(state), "--db", sqlite_db.url, "--host-uuid", "local",
                  *empty_capture(tmp_path), "--select", CORE, json_path=tmp_path / "r.json",
                  env=env, cwd=tmp_path)
    check_audited(run, js, dbo)


def test_host_uuid_from_decnet_host_uuid(tmp_path, sqlite_db):
    me = "worker-0007"
    state, js, dbo = fleet_with_one_drift(tmp_path, sqlite_db, host_uuid=me)
    sqlite_db.insert("local", js)  # the mothership's row does not cover this host's decky
    env = {**CLEAN, "DECNET_HOST_UUID": me}
    run = run_cli("--state", str(state), "--db", sqlite_db.url, *empty_capture(tmp_path),
                  "--select", CORE, json_path=tmp_path / "r.json", env=env, cwd=tmp_path)
    check_audited(run, js, dbo)
    assert run.report["host_uuid"] == me
    assert f"host_uuid: {me}" in run.out


@pytest.mark.docker
def test_working_directory_files_and_docker_host(tmp_path, sqlite_db, docker_fleet):
    # No option and no DECNET variable: ./decnet-state.json, ./decnet.db and
    # the engine DOCKER_HOST names, as on a DECNET host's install root.
    name = unique("cwd")
    docker_fleet.decky(name, ("ssh",))
    write_state(tmp_path / "decnet-state.json", [decky_config(name)])
    sqlite_db.insert("local", name, state="failed")  # Docker shows it running
    assert make_url(sqlite_db.url).database == str(tmp_path / "decnet.db")

    run = run_cli("--select", CORE, json_path=tmp_path / "r.json",
                  env={**CLEAN, "DOCKER_HOST": docker_fleet.base_url}, cwd=tmp_path)

    assert run.rc == 1, run.out + run.err
    assert [(f["rule"], f["decky"], f["expected"]) for f in run.findings()] == [
        ("docker-mismatch", name, "running")]
    assert run.report["sources"]["state"]["where"] == "decnet-state.json"
    assert run.report["sources"]["db"]["where"] == "sqlite:///decnet.db"
