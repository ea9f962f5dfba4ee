"""Inputs from the attack run of issue 12 that ended in a traceback, exit 1 or
a crashed rule: each is now one clear line, the right exit code (2: a source
could not be read; 4: usage) and, where the audit ran, its report."""

from __future__ import annotations

import json
import re

import pytest

from kit.fleet import decky_config, run_cli, unique, write_state

DEEP = 3000


def no_traceback(run):
    for text in (run.out, run.err):
        assert "Traceback" not in text
        assert not re.search(r'File ".*", line \d+', text)
    assert "rule crashed" not in run.out


@pytest.fixture
def world(tmp_path, sqlite_db):
    name = unique("ok")
    state = write_state(tmp_path / "state.json", [decky_config(name)])
    sqlite_db.insert("local", name)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    return {"state": str(state), "db": sqlite_db, "snap": str(empty), "tmp": tmp_path}


def audit(world, *more, state=None, snap=None, db=None):
    return run_cli("--state", state or world["state"], "--db", db or world["db"].url,
                   "--docker-snapshot", snap or world["snap"], *more,
                   json_path=world["tmp"] / "r.json", cwd=world["tmp"])


def source_error(run, source: str) -> str:
    assert run.report is not None, "the report must still be written"
    assert run.report["sources"][source]["status"] == "error"
    return run.report["sources"][source]["detail"]


def test_state_file_nested_3000_deep_is_an_unreadable_source(world):
    deep = world["tmp"] / "deep.json"
    deep.write_text('{"config": {"deckies": [' + "[" * DEEP + "]" * DEEP + "]}}")
    run = audit(world, state=str(deep))
    assert run.rc == 2, run.out + run.err
    no_traceback(run)
    assert "nested more than 64 levels deep" in source_error(run, "state")


@pytest.mark.parametrize("text", [
    "[" * DEEP + "]" * DEEP,
    '{"ID": "1", "Names": "x", "Labels": ' + "[" * DEEP + "]" * DEEP + "}\n",
    '[{"Id": "1", "Name": "/x", "Config": ' + "[" * 200 + "]" * 200 + "}]",
], ids=["inspect-array", "ps-line", "inspect-200-deep"])
def test_docker_snapshot_nested_deep_is_an_unreadable_source(world, text):
    snap = world["tmp"] / "deep-snap.json"
    snap.write_text(text)
    run = audit(world, snap=str(snap))
    assert run.rc == 2, run.out + run.err
    no_traceback(run)
    assert "nested more than 64 levels deep" in source_error(run, "docker")


@pytest.mark.parametrize("entry, why", [
    ('{"ID": "1", "Names": "a", "State": 1, "Labels": ""}', "line 1: State is int"),
    ('{"ID": "1", "Names": "a", "State": "running", "Labels": {"a": "b"}}',
     "line 1: Labels is dict"),
    ('[{"Id": "1", "Name": "/a", "State": {"Status": "running"}, "Config": ["x"]}]',
     "entry 0: Config is list"),
    ('[{"Id": "1", "Name": "/a", "State": {"Status": "running"}, "Config": {"Labels": ["a"]}}]',
     "entry 0: Config.Labels must map strings to strings"),
    ('[{"Id": "1", "Name": "/a", "State": {"Status": 7}}]', "entry 0: State must be"),
    ('{"a": 1}', "line 1: not a line of `docker ps"),
], ids=["ps-state-int", "ps-labels-object", "inspect-config-list", "inspect-labels-list",
        "inspect-status-int", "inspect-not-a-list"])
def test_docker_snapshot_with_wrong_types_is_an_unreadable_source(world, entry, why):
    snap = world["tmp"] / "typed-snap.json"
    snap.write_text(entry + "\n")
    run = audit(world, snap=str(snap))
    assert run.rc == 2, run.out + run.err
    no_traceback(run)
    detail = source_error(run, "docker")
    assert why in detail, detail


@pytest.mark.parametrize("column, value, why", [
    ("name", "X'41'", "row (local, X'41'): name holds a BLOB X'41'"),
    ("decky_ip", "X'31302E302E302E31'", "decky_ip holds a BLOB"),
    ("last_seen", "7", "last_seen holds the int 7"),  # DATETIME: NUMERIC affinity
    ("services", "'" + "[" * 5000 + "]" * 5000 + "'", "services: JSON nested more than 64"),
], ids=["blob-name", "blob-ip", "integer-state", "services-5000-deep"])
def test_odd_fleet_deckies_row_is_a_source_error_not_a_rule_crash(world, column, value, why):
    db = world["db"]
    values = {"host_uuid": "'local'", "name": "'odd'", "services": "'[\"ssh\"]'",
              "decky_ip": "'10.9.9.9'", "state": "'running'", "last_seen": "NULL"}
    values[column] = value
    db.execute(f"INSERT INTO fleet_deckies ({', '.join(values)}, updated_at) VALUES "
               f"({', '.join(values.values())}, '2026-01-01 00:00:00')")
    run = audit(world)
    assert run.rc == 2, run.out + run.err
    no_traceback(run)
    assert why in source_error(run, "db")


def test_unknown_mysql_url_parameter_is_a_clear_error(world):
    url = "mysql+pymysql://root:s3cret@127.0.0.1/x?foo=1"
    for more in ((), ("--fix",)):
        run = audit(world, *more, db=url)
        assert run.rc == 2, run.out + run.err
        no_traceback(run)
        assert "s3cret" not in run.out + run.err
        assert "database URL parameter foo not understood by the MySQL driver" in \
            source_error(run, "db")


def test_k_with_3000_nots_is_one_usage_line(world):
    run = audit(world, "-k", "not " * DEEP + "ok")
    assert run.rc == 4, run.out + run.err
    no_traceback(run)
    assert run.err.count("\n") == 1 and "more than 100 nested" in run.err


def test_k_with_a_long_flat_chain_still_matches(world):
    run = audit(world, "-k", " or ".join(["nomatch"] * DEEP + ["ok"]), "--select", "json-only")
    assert run.rc == 0, run.out + run.err
    no_traceback(run)
    assert [c["outcome"] for c in run.report["checks"]] == ["passed"]


def test_config_toml_nested_deep_is_one_usage_line(world):
    cfg = world["tmp"] / "deep.toml"
    cfg.write_text("x = " + "[" * DEEP + "]" * DEEP + "\n")
    run = audit(world, "--config", str(cfg))
    assert run.rc == 4, run.out + run.err
    no_traceback(run)
    assert run.err.count("\n") == 1 and "nested too deeply" in run.err


def test_shallow_but_odd_state_file_values_still_audit(world):
    # 60 levels is within the limit: read and compared like any other value.
    name = json.loads(open(world["state"]).read())["config"]["deckies"][0]["name"]
    deep = world["tmp"] / "s60.json"
    cfg = decky_config(name, service_config={"ssh": json.loads("[" * 58 + "]" * 58)})
    write_state(deep, [cfg])
    run = audit(world, "--select", "json-only,db-only", state=str(deep))
    assert run.rc == 0, run.out + run.err
    no_traceback(run)


def test_a_password_in_the_docker_url_is_never_printed(world):
    run = run_cli("--state", world["state"], "--db", world["db"].url, "--docker-host",
                  "tcp://ops:hunter2@127.0.0.1:9", json_path=world["tmp"] / "r.json")
    assert run.rc == 2, run.out + run.err
    no_traceback(run)
    assert "hunter2" not in run.out + run.err + (world["tmp"] / "r.json").read_text()
    assert run.report["sources"]["docker"]["where"] == "tcp://ops:***@127.0.0.1:9"


def test_console_escapes_line_separators_in_a_decky_name(world):
    odd = "sep\u2028arated\ufeff"
    write_state(world["tmp"] / "odd.json", [decky_config(odd)])
    run = audit(world, "--select", "json-only", state=str(world["tmp"] / "odd.json"))
    assert run.rc == 1, run.out + run.err
    assert "sep\\u2028arated\\ufeff" in run.out
    assert not set(run.out) & {"\u2028", "\u2029", "\ufeff"}
