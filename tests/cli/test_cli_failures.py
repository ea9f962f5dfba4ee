"""What an operator sees when a source is broken or hostile: exit 2 with one
clear line, never a traceback, never a password, never a terminal obeying a
decky name."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy.engine import make_url

from kit.fleet import decky_config, run_cli, unique, write_state

CORE = "json-only,db-only,docker-mismatch,foreign-host-row"
NOWHERE = "unix:///nonexistent/docker.sock"


def empty_capture(tmp_path):
    # Tests here are about the state file and the database; an empty (but
    # observed) Docker capture keeps them independent of the engine's load.
    path = tmp_path / "docker-ps.jsonl"
    path.write_text("")
    return path


def no_traceback(run):
    for text in (run.out, run.err):
        assert "Traceback" not in text
        assert not re.search(r'File ".*", line \d+', text)


# -- Docker unreachable -----------------------------------------------------------


def test_unreachable_docker_exits_2_and_the_other_rules_still_report(tmp_path, sqlite_db):
    only_json, only_db, both = unique("js"), unique("db"), unique("both")
    state = write_state(tmp_path / "s.json", [decky_config(only_json), decky_config(both)])
    sqlite_db.insert("local", only_db)
    sqlite_db.insert("local", both, state="running")  # Docker would say torn_down

    run = run_cli("--state", str(state), "--db", sqlite_db.url, "--docker-host", NOWHERE,
                  "--select", CORE, json_path=tmp_path / "r.json", cwd=tmp_path)

    assert run.rc == 2, run.out + run.err
    no_traceback(run)
    # Not observed is not "everything is gone": no state is derived from it.
    assert run.findings("docker-mismatch") == []
    [check] = [c for c in run.report["checks"] if c["rule"] == "docker-mismatch"]
    assert check["outcome"] == "error" and "docker not read" in check["error"]
    assert run.drifted("json-only") == {only_json}
    assert run.drifted("db-only") == {only_db}
    assert run.report["sources"]["docker"]["status"] == "error"
    assert run.report["summary"]["complete"] is False
    assert re.search(r"^docker\s+ERROR\s+unix:///nonexistent/docker.sock: cannot reach the "
                     r"Docker engine", run.out, re.M)
    assert "2 drifted" in run.out.splitlines()[-1] and "1 error" in run.out.splitlines()[-1]


# -- a broken state file ---------------------------------------------------------------


@pytest.mark.parametrize("content, says", [
    ('{"config": {"deckies": [\n  {"name": "a",,}\n]}}', "invalid JSON at line 2 column"),
    ('{"config": {"deckies": [{"services": ["ssh"]}]}}',
     "config.deckies[0].name: expected a non-empty string"),
    (b'{"config": {"deckies": [{"name": "caf\xe9"}]}}', "not UTF-8 text"),
], ids=["corrupt-json", "wrong-shape", "latin-1"])
def test_broken_state_file_exits_2_naming_it(tmp_path, sqlite_db, content, says):
    state = tmp_path / "decnet-state.json"
    state.write_bytes(content if isinstance(content, bytes) else content.encode())
    sqlite_db.insert("local", unique())

    run = run_cli("--state", str(state), "--db", sqlite_db.url,
                  "--docker-snapshot", str(empty_capture(tmp_path)), "--select", CORE,
                  json_path=tmp_path / "r.json", cwd=tmp_path)

    assert run.rc == 2, run.out + run.err
    no_traceback(run)
    assert f"source state not read ({state}): {says}" in run.out
    assert run.report["sources"]["state"] == {"status": "error", "where": str(state),
                                              "detail": run.report["sources"]["state"]["detail"],
                                              "missing": False}
    assert says in run.report["sources"]["state"]["detail"]
    # Rules that need the state file are errors, not a verdict on the rows.
    assert run.findings() == []
    assert {c["rule"] for c in run.report["checks"] if c["outcome"] == "error"} >= {
        "json-only", "db-only", "docker-mismatch", "foreign-host-row"}


def test_missing_state_file_is_an_empty_fleet_not_an_error(tmp_path, sqlite_db):
    leftover = unique()
    sqlite_db.insert("local", leftover)
    run = run_cli("--state", str(tmp_path / "absent.json"), "--db", sqlite_db.url,
                  "--docker-snapshot", str(empty_capture(tmp_path)), "--select", CORE,
                  json_path=tmp_path / "r.json", cwd=tmp_path)
    assert run.rc == 1
    assert "file not found: nothing deployed" in run.out
    assert run.drifted("db-only") == {leftover}


# -- passwords ------------------------------------------------------------------------------


SECRET = "Sup3r-S3cret-pw"


def _with_password(db, driver=None, password=SECRET):
    url = make_url(db.url).set(password=password)
    if driver:
        url = url.set(drivername=driver)
    return url


@pytest.mark.mariadb
@pytest.mark.parametrize("how", ["--db", "DECNET_DB_URL", "DECNET_DB_PASSWORD", "query",
                                 "bad-port"])
def test_wrong_mariadb_password_is_never_printed(tmp_path, mariadb_db, how):
    state = write_state(tmp_path / "s.json", [decky_config(unique())])
    url = _with_password(mariadb_db, "mysql+asyncmy" if how == "DECNET_DB_URL" else None)
    args, env = [], {"DECNET_DB_URL": "", "DECNET_DB_PASSWORD": "", "DECNET_DB_TYPE": ""}
    if how == "--db":
        args = ["--db", url.render_as_string(hide_password=False)]
    elif how == "DECNET_DB_URL":
        env["DECNET_DB_URL"] = url.render_as_string(hide_password=False)
    elif how == "DECNET_DB_PASSWORD":
        env.update(DECNET_DB_TYPE="mysql", DECNET_DB_HOST=url.host, DECNET_DB_PORT=str(url.port),
                   DECNET_DB_USER=url.username, DECNET_DB_NAME=url.database,
                   DECNET_DB_PASSWORD=SECRET)
    elif how == "query":  # pymysql reads ?password= as the password
        url = url.set(password=None).update_query_dict({"password": SECRET})
        args = ["--db", url.render_as_string(hide_password=False)]
    else:  # nothing listens there: a connection error, not a login error
        args = ["--db", f"mysql+pymysql://root:{SECRET}@127.0.0.1:1/x"]

    run = run_cli("--state", str(state), *args, "--docker-snapshot",
                  str(empty_capture(tmp_path)), "--select", CORE,
                  json_path=tmp_path / "r.json", env=env, cwd=tmp_path)

    assert run.rc == 2, run.out + run.err
    no_traceback(run)
    report_text = (tmp_path / "r.json").read_text()
    for text in (run.out, run.err, report_text):
        assert SECRET not in text
    db_source = run.report["sources"]["db"]
    assert db_source["status"] == "error"
    assert ("password=***" if how == "query" else ":***@") in db_source["where"]
    if how == "bad-port":
        assert "Can't connect" in db_source["detail"]
    else:
        assert "Access denied" in db_source["detail"]
        assert db_source["where"].startswith(url.drivername)


# -- hostile decky names ------------------------------------------------------------------


HOSTILE = {
    "ansi": "\x1b[32mPASSED\x1b[0m\x1b]0;owned\x07",
    "newline": "evil\nFORGED all clear",
    "script": "<script>alert('x')</script>",
    "quotes": "it's \"quoted\"",
    "sql": "x'; DROP TABLE fleet_deckies; --",
    "rtl": "\u202egnp.exe",
}


def test_hostile_names_are_escaped_and_break_nothing(tmp_path, db):
    # The same names in every place a decky name can come from: the state file
    # only (json-only), the table only (db-only), and both (docker-mismatch).
    in_state = {k: f"{v}-js" for k, v in HOSTILE.items()}
    in_db = {k: f"{v}-db" for k, v in HOSTILE.items()}
    in_both = {k: f"{v}-both" for k, v in HOSTILE.items()}
    state = write_state(tmp_path / "s.json",
                        [decky_config(n) for n in [*in_state.values(), *in_both.values()]])
    for n in [*in_db.values(), *in_both.values()]:
        db.insert("local", n, state="running")

    run = run_cli("--state", str(state), "--db", db.url,
                  "--docker-snapshot", str(empty_capture(tmp_path)), "--select", CORE, "-v",
                  json_path=tmp_path / "r.json", cwd=tmp_path)

    assert run.rc == 1, run.out + run.err
    no_traceback(run)
    # The JSON report carries the names exactly, for a program to read.
    assert run.drifted("json-only") == set(in_state.values())
    assert run.drifted("db-only") == set(in_db.values())
    assert run.drifted("docker-mismatch") == set(in_both.values())
    # The terminal gets no control sequence and no forged line.
    assert "\x1b" not in run.out and "\x07" not in run.out and "\u202e" not in run.out
    assert not any(line.startswith("FORGED") for line in run.out.splitlines())
    assert "json-only::\\x1b[32mPASSED\\x1b[0m\\x1b]0;owned\\x07-js" in run.out
    assert "db-only::evil\\x0aFORGED all clear-db" in run.out
    assert "\\u202egnp.exe-both" in run.out
    assert "x'; DROP TABLE fleet_deckies; ---db" in run.out
    assert "<script>alert('x')</script>-js" in run.out
    # The table is intact: names were data, never SQL.
    assert len(db.rows()) == len(in_db) + len(in_both)
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["drifted"] == 3 * len(HOSTILE)
