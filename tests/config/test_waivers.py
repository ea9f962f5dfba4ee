"""Waivers through the installed CLI: waived drift stays visible but passes,
expired waivers stop applying, unused ones are reported, and --fail-on /
--exit-zero tune the exit code. Real SQLite files and ``docker ps`` captures.
"""

from __future__ import annotations

import textwrap
from datetime import date, timedelta

import pytest

from decnet_audit.config.waivers import Waiver, WaiverSet
from decnet_audit.model import DRIFT, WAIVED, Check, Finding
from kit.fleet import run_cli, write_state
from kit.report import PsCapture, deckies, drifted_fleet, junit_cases, mirror

CORE = "json-only,db-only,docker-mismatch,foreign-host-row"


@pytest.fixture
def planted(tmp_path, sqlite_db):
    """One clean decky and one drift of each core class (kit.report)."""
    return drifted_fleet(tmp_path, sqlite_db, PsCapture(tmp_path / "ps.jsonl"))


def config(tmp_path, text: str):
    (tmp_path / ".decnet-audit.toml").write_text(textwrap.dedent(text))


def audit(tmp_path, planted, db, *args, select=CORE):
    return run_cli("--state", str(planted.state), "--db", db.url,
                   "--docker-snapshot", str(tmp_path / "ps.jsonl"), "--select", select, *args,
                   json_path=tmp_path / "report.json", cwd=tmp_path)


def outcome(run, rule, decky):
    return next(c["outcome"] for c in run.report["checks"]
                if c["rule"] == rule and c["decky"] == decky)


def waiver_report(run):
    return {(w["rule"], w["decky"]): w for w in run.report["waivers"]}


def one(names):
    (name,) = names
    return name


def test_waived_drift_is_visible_as_skipped_and_does_not_fail(tmp_path, planted, sqlite_db):
    dead = one(planted.drift["docker-mismatch"])
    config(tmp_path, f"""
        [[waivers]]
        rule = "docker-mismatch"
        decky = "{dead[:5]}*"
        field = "state"
        reason = "ssh image is being rebuilt"
        expires = {date.today() + timedelta(days=30)}
    """)
    xml = tmp_path / "audit.xml"
    run = audit(tmp_path, planted, sqlite_db, "--junitxml", str(xml), select="docker-mismatch")

    assert run.rc == 0, run.out + run.err
    assert outcome(run, "docker-mismatch", dead) == "waived"
    (finding,) = run.findings("docker-mismatch")
    assert finding["waived"] is True
    assert finding["waiver_reason"] == "ssh image is being rebuilt"
    assert run.report["summary"]["waived"] == 1
    assert waiver_report(run)[("docker-mismatch", f"{dead[:5]}*")]["status"] == "applied"
    assert "waived:   ssh image is being rebuilt" in run.out
    skipped = [(cls, name) for _, cls, name, res in junit_cases(xml)
               if res is not None and res.tag == "skipped"]
    assert [name for _, name in skipped] == [dead]


def test_waiver_for_another_field_or_decky_does_not_apply(tmp_path, planted, sqlite_db):
    dead = one(planted.drift["docker-mismatch"])
    config(tmp_path, f"""
        [[waivers]]
        rule = "docker-mismatch"
        decky = "{dead}"
        field = "services"
        reason = "wrong field"

        [[waivers]]
        rule = "docker-mismatch"
        decky = "{dead}x"
        reason = "wrong decky"
    """)
    run = audit(tmp_path, planted, sqlite_db, select="docker-mismatch")
    assert run.rc == 1
    assert outcome(run, "docker-mismatch", dead) == "drift"
    assert [w["status"] for w in run.report["waivers"]] == ["unused", "unused"]


def test_check_is_waived_only_when_all_its_findings_are(tmp_path, sqlite_db):
    # config-drift reports field by field: waive the IP, not the services.
    (cfg,) = deckies("cd-partial", services=("ssh",))
    state = write_state(tmp_path / "decnet-state.json", [cfg])
    mirror(sqlite_db, {**cfg, "ip": "10.99.0.99", "services": ["ssh", "http"]})
    PsCapture(tmp_path / "ps.jsonl").decky("cd-partial", ("ssh",))
    config(tmp_path, """
        [[waivers]]
        rule = "config-drift"
        decky = "cd-*"
        field = "decky_ip"
        reason = "re-addressed on purpose"
    """)
    run = run_cli("--state", str(state), "--db", sqlite_db.url, "--docker-snapshot",
                  str(tmp_path / "ps.jsonl"), "--select", "config-drift",
                  json_path=tmp_path / "report.json", cwd=tmp_path)

    by_field = {f["field"]: f["waived"] for f in run.findings("config-drift")}
    assert by_field["decky_ip"] is True
    assert by_field["services"] is False
    assert outcome(run, "config-drift", "cd-partial") == "drift"
    assert run.rc == 1


def test_expired_waiver_no_longer_applies_and_is_reported(tmp_path, planted, sqlite_db):
    db_only = one(planted.drift["db-only"])
    json_only = one(planted.drift["json-only"])
    yesterday, today = date.today() - timedelta(days=1), date.today()
    config(tmp_path, f"""
        [[waivers]]
        rule = "db-only"
        decky = "{db_only}"
        reason = "decommission ticket 42"
        expires = {yesterday}

        [[waivers]]
        rule = "json-only"
        decky = "{json_only}"
        reason = "last day of grace"
        expires = {today}
    """)
    run = audit(tmp_path, planted, sqlite_db, select="db-only,json-only")

    assert outcome(run, "db-only", db_only) == "drift"
    assert run.findings("db-only")[0]["waived"] is False
    assert outcome(run, "json-only", json_only) == "waived"  # applies through its day
    status = waiver_report(run)
    assert status[("db-only", db_only)]["status"] == "expired"
    assert status[("db-only", db_only)]["matched"] == 1
    assert status[("json-only", json_only)]["status"] == "applied"
    assert run.rc == 1
    line = next(ln for ln in run.out.splitlines() if ln.startswith("EXPIRED"))
    assert f".decnet-audit.toml:2 db-only {db_only}" in line
    assert f"expired after {yesterday}" in line


def test_unused_waiver_is_reported_without_changing_the_exit_code(tmp_path, planted,
                                                                     sqlite_db):
    ok = planted.clean[0]
    config(tmp_path, f"""
        [[waivers]]
        rule = "docker-mismatch"
        decky = "{ok}"
        reason = "was degraded last week"

        [[waivers]]
        rule = "foreign-host-row"
        decky = "*"
        reason = "rule not selected in this run"
    """)
    run = audit(tmp_path, planted, sqlite_db, "-k", ok, select="docker-mismatch")
    # -k cut checks: nothing can be called unused.
    assert {w["status"] for w in run.report["waivers"]} == {"not-run"}

    run = audit(tmp_path, planted, sqlite_db, select="docker-mismatch")
    status = waiver_report(run)
    assert status[("docker-mismatch", ok)]["status"] == "unused"
    assert status[("foreign-host-row", "*")]["status"] == "not-run"
    assert run.rc == 1  # the real drift, not the unused waiver
    unused = [ln for ln in run.out.splitlines() if ln.startswith("UNUSED")]
    assert len(unused) == 1 and ok in unused[0]


def test_fail_on_limits_the_exit_code_to_some_rules(tmp_path, planted, sqlite_db):
    run = audit(tmp_path, planted, sqlite_db, "--fail-on", "docker-mismatch")
    assert run.rc == 1
    run = audit(tmp_path, planted, sqlite_db, "--fail-on", "DA004,db-only", select="json-only")
    assert run.rc == 0
    # Drift outside --fail-on is still reported.
    assert run.report["summary"]["drifted"] == 1
    assert "DRIFT json-only::" in run.out
    config(tmp_path, 'fail-on = ["db-only"]\n')
    assert audit(tmp_path, planted, sqlite_db, select="json-only").rc == 0
    assert audit(tmp_path, planted, sqlite_db, "--fail-on", "json-only",
                 select="json-only").rc == 1  # the command line wins


def test_exit_zero_on_drift_but_not_on_an_incomplete_audit(tmp_path, planted, sqlite_db):
    run = audit(tmp_path, planted, sqlite_db, "--exit-zero")
    assert run.rc == 0 and run.report["summary"]["drifted"] == 4
    planted.state.write_text("{not json")
    run = audit(tmp_path, planted, sqlite_db, "--exit-zero")
    assert run.rc == 2, run.out


def test_fail_on_unknown_rule_is_a_usage_error(tmp_path, planted, sqlite_db):
    run = audit(tmp_path, planted, sqlite_db, "--fail-on", "no-such-rule")
    assert run.rc == 4
    assert "unknown rule 'no-such-rule'" in run.err
    assert "Traceback" not in run.err


# -- the matching itself (pure logic) --------------------------------------------------


def _finding(decky, field=None, rule="config-drift"):
    return Finding(rule=rule, code="DA006", decky=decky, host_uuid="local", message="m",
                   field=field)


def test_patterns_are_case_sensitive_fnmatch():
    w = Waiver(rule="config-drift", decky="decky-0[12]", reason="r")
    assert w.matches(_finding("decky-01")) and w.matches(_finding("decky-02"))
    assert not w.matches(_finding("decky-03"))
    assert not w.matches(_finding("DECKY-01"))
    assert not w.matches(_finding("decky-01", rule="db-only"))


def test_first_matching_waiver_gives_the_reason_and_all_count_as_used():
    today = date(2030, 6, 1)
    ws = WaiverSet([
        Waiver(rule="config-drift", decky="d1", reason="specific"),
        Waiver(rule="config-drift", decky="*", reason="broad"),
        Waiver(rule="config-drift", decky="*", reason="old", expires=date(2030, 5, 31)),
    ], today)
    check = Check("config-drift", "d1", DRIFT,
                  findings=[_finding("d1", "services"), _finding("d1", "decky_ip")])
    assert ws.apply([check]) == []
    assert check.outcome == WAIVED
    assert {f.waiver_reason for f in check.findings} == {"specific"}
    assert ws.matched == {0: 2, 1: 2, 2: 2}
