"""The exit codes a scheduler acts on, each produced by the installed CLI:
0 no drift, 1 drift, 2 audit incomplete, 4 usage error, 5 no rule selected
(3, a crashing rule or plugin, is in test_cli_plugins)."""

from __future__ import annotations

import pytest

from kit.fleet import decky_config, run_cli, unique, write_state
from kit.report import PsCapture

CORE = "json-only,db-only,docker-mismatch,foreign-host-row"


@pytest.fixture
def fleet(tmp_path, sqlite_db):
    """One decky, deployed and recorded alike: converged (3 checks: foreign-host-row
    has nothing to examine)."""
    name = unique()
    state = write_state(tmp_path / "s.json", [decky_config(name)])
    sqlite_db.insert("local", name, state="running")
    capture = PsCapture(tmp_path / "ps.jsonl")
    capture.decky(name, ("ssh",))
    return name, ["--state", str(state), "--db", sqlite_db.url, *capture.args()], sqlite_db


def test_0_no_drift(tmp_path, fleet):
    _, sources, _ = fleet
    run = run_cli(*sources, "--select", CORE, cwd=tmp_path)
    assert run.rc == 0, run.out + run.err
    assert run.out.splitlines()[-1].strip("= ").startswith("3 passed in")


def test_1_drift(tmp_path, fleet):
    _, sources, db = fleet
    db.insert("local", unique("extra"))
    run = run_cli(*sources, "--select", CORE, cwd=tmp_path)
    assert run.rc == 1, run.out + run.err
    assert "1 drifted, 3 passed in" in run.out.splitlines()[-1]


def test_2_incomplete_outranks_drift(tmp_path, fleet):
    _, sources, db = fleet
    db.insert("local", unique("extra"))
    sources = sources[:-2] + ["--docker-host", "unix:///nonexistent/docker.sock"]
    run = run_cli(*sources, "--select", CORE, cwd=tmp_path)
    assert run.rc == 2, run.out + run.err
    assert "1 drifted" in run.out.splitlines()[-1] and "1 error" in run.out.splitlines()[-1]


@pytest.mark.parametrize("args, says", [
    (["--select", "no-such-rule"], "unknown rule 'no-such-rule'; known rules: "
                                   "json-only (DA001), db-only (DA002)"),
    (["--ignore", "DA9"], "unknown rule 'DA9'"),
    (["-k", "json and"], "-k 'json and': expression ends too early"),
    (["-k", "(json"], "missing ')'"),
    (["--no-such-flag"], "unknown option --no-such-flag"),
    (["--docker-host", "unix:///x", "--docker-snapshot", "x"], "not allowed with argument"),
], ids=["unknown-select", "unknown-ignore", "k-ends-early", "k-paren", "unknown-flag",
        "exclusive"])
def test_4_usage_error_is_one_line(tmp_path, fleet, args, says):
    _, sources, _ = fleet
    run = run_cli(*sources, *args, cwd=tmp_path)
    assert run.rc == 4, run.out + run.err
    assert run.out == ""
    assert run.err.startswith("decnet-audit: usage error: ")
    assert says in run.err
    assert len(run.err.strip().splitlines()) == 1


def test_4_from_the_environment(tmp_path, fleet):
    run = run_cli("--state", "x.json", env={"DECNET_DB_URL": "", "DECNET_DB_TYPE": "mysql",
                                            "DECNET_DB_PORT": "mysql"}, cwd=tmp_path)
    assert run.rc == 4
    assert "DECNET_DB_PORT='mysql': not a port number" in run.err


def test_5_no_rule_selected(tmp_path, fleet):
    _, sources, _ = fleet
    run = run_cli(*sources, "--select", "json-only", "--ignore", "DA001", cwd=tmp_path)
    assert run.rc == 5
    assert "no rule selected" in run.err
    assert run.out == ""


def test_5_k_matched_no_check(tmp_path, fleet):
    _, sources, _ = fleet
    run = run_cli(*sources, "--select", CORE, "-k", "no-decky-is-called-this", cwd=tmp_path)
    assert run.rc == 5, run.out + run.err
    assert "-k 'no-decky-is-called-this' matched no check" in run.err


def test_k_narrows_the_run_and_the_exit_code(tmp_path, fleet):
    name, sources, db = fleet
    extra = unique("extra")
    db.insert("local", extra)
    quiet = run_cli(*sources, "--select", CORE, "-k", f"not {extra}", json_path=tmp_path / "a",
                    cwd=tmp_path)
    assert quiet.rc == 0, quiet.out + quiet.err
    assert {c["decky"] for c in quiet.report["checks"]} == {name}
    loud = run_cli(*sources, "--select", CORE, "-k", f"db-only and {extra}",
                   json_path=tmp_path / "b", cwd=tmp_path)
    assert loud.rc == 1
    assert [(c["rule"], c["decky"]) for c in loud.report["checks"]] == [("db-only", extra)]
