"""``--junitxml``: valid against junit-10.xsd, read by junitparser with the
JSON report's counts, and hostile text kept well-formed and visible."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter

import junitparser
import pytest
import xmlschema

from decnet_audit.model import (
    DRIFT,
    ERROR,
    PASSED,
    WAIVED,
    AuditResult,
    Check,
    Finding,
    RuleInfo,
    SourceStatus,
)
from decnet_audit.reports.describe import case_names
from decnet_audit.reports.junit import render_xml
from kit.fleet import run_cli
from kit.report import (
    TIME,
    XSD,
    PsCapture,
    audit_all,
    clean_fleet,
    docker_args,
    drifted_fleet,
    hostile_fleet,
    junit_cases,
)

SCHEMA = xmlschema.XMLSchema(str(XSD))
KIND = {"Failure": DRIFT, "Error": ERROR, "Skipped": WAIVED}


def read_junit(xml_path, report: dict) -> dict[tuple[str, str], junitparser.TestCase]:
    """Everything a JUnit file must satisfy whatever the fleet; returns its
    testcases by (suite, name)."""
    SCHEMA.validate(str(xml_path))
    root = ET.parse(xml_path).getroot()
    for el in root.iter():
        if "time" in el.attrib:
            assert TIME.fullmatch(el.get("time")), (el.tag, el.get("time"))
    summary = report["summary"]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (
        str(summary["checks"]), str(summary["drifted"]), str(summary["errors"]))

    suites = list(junitparser.JUnitXml.fromfile(str(xml_path)))
    # Every rule that checked something is a suite; one with no check is none.
    assert [s.name for s in suites] == [r["id"] for r in report["rules"]
                                        if any(c["rule"] == r["id"] for c in report["checks"])]
    for s in suites:  # when and where, on each suite
        assert s.timestamp == report["started_at"]
        assert s.hostname == report["hostname"] and s.hostname
    assert sum(s.tests for s in suites) == summary["checks"]
    assert sum(s.failures for s in suites) == summary["drifted"]
    assert sum(s.errors for s in suites) == summary["errors"]
    assert sum(s.skipped for s in suites) == summary["waived"]
    cases = {}
    outcomes = Counter()
    for s in suites:
        for case in s:
            key = (case.classname, case.name)
            assert key not in {(c.classname, c.name) for c in cases.values()}, key
            cases[(s.name, case.name)] = case
            outcomes[KIND[type(case.result[0]).__name__] if case.result else PASSED] += 1
    assert outcomes == +Counter(drift=summary["drifted"], error=summary["errors"],
                                waived=summary["waived"], passed=summary["passed"])
    return cases


def failed(cases, rule: str) -> set[str]:
    return {name for (suite, name), c in cases.items()
            if suite == rule and c.result and isinstance(c.result[0], junitparser.Failure)}


def test_clean_fleet_still_lists_passing_testcases(tmp_path, sqlite_db):
    docker = PsCapture(tmp_path / "ps.jsonl")
    fleet = clean_fleet(tmp_path, sqlite_db, docker)
    rep = audit_all(tmp_path, fleet.state, sqlite_db.url, docker_args(docker))
    assert rep.rc == 0, rep.out
    cases = read_junit(rep.xml, rep.json)
    for rule in ("json-only", "db-only", "docker-mismatch"):
        for name in fleet.clean:
            assert cases[(rule, name)].is_passed, (rule, name)
    assert all(c.is_passed for c in cases.values())
    assert len(cases) == rep.json["summary"]["passed"] == rep.json["summary"]["checks"]


def test_drift_is_a_failure_with_message_and_convergence(tmp_path, db):
    docker = PsCapture(tmp_path / "ps.jsonl")
    fleet = drifted_fleet(tmp_path, db, docker)
    rep = audit_all(tmp_path, fleet.state, db.url, docker_args(docker))
    assert rep.rc == 1, rep.out + rep.err
    cases = read_junit(rep.xml, rep.json)
    for rule, names in fleet.drift.items():
        assert failed(cases, rule) == names, rule
    assert {rule for (rule, _), c in cases.items() if not c.is_passed} == set(fleet.drift)
    for f in rep.json["findings"]:
        result = cases[(f["rule"], f["decky"])].result[0]
        assert result.message == f["message"]
        assert result.type == f["code"]
        body = result.text
        assert f"expected: {f['expected']}" in body and f"actual:   {f['actual']}" in body
        assert "fix:" in body
    dead = next(iter(fleet.drift["docker-mismatch"]))
    assert "decnet-audit --fix" in cases[("docker-mismatch", dead)].result[0].text
    claimed = next(iter(fleet.drift["foreign-host-row"]))
    assert "report only" in cases[("foreign-host-row", claimed)].result[0].text
    for name in fleet.clean:
        assert cases[("docker-mismatch", name)].is_passed


@pytest.mark.docker
def test_real_docker_engine_fleet(tmp_path, sqlite_db, docker_fleet):
    # MariaDB is covered above; one database keeps this slow test to one run.
    fleet = drifted_fleet(tmp_path, sqlite_db, docker_fleet)
    rep = audit_all(tmp_path, fleet.state, sqlite_db.url, docker_args(docker_fleet))
    assert rep.json["sources"]["docker"]["status"] == "ok"
    cases = read_junit(rep.xml, rep.json)
    # The engine is shared with other tests: judge only the deckies made here.
    for rule, names in fleet.drift.items():
        assert names <= failed(cases, rule), rule
    assert failed(cases, "docker-mismatch") & set(fleet.clean) == set()


def test_unreadable_source_is_an_error_per_rule_and_the_report_is_still_written(
        tmp_path, sqlite_db):
    docker = PsCapture(tmp_path / "missing.jsonl")
    fleet = drifted_fleet(tmp_path, sqlite_db, PsCapture(tmp_path / "unused.jsonl"))
    rep = audit_all(tmp_path, fleet.state, sqlite_db.url,
                    ["--docker-snapshot", str(docker.path)])
    assert rep.rc == 2
    cases = read_junit(rep.xml, rep.json)
    error = cases[("docker-mismatch", "(all deckies)")].result[0]
    assert isinstance(error, junitparser.Error) and error.type == "source-error"
    assert "docker not read" in error.message and "missing.jsonl" in error.message
    # Rules that do not need Docker still ran and found their drift.
    assert failed(cases, "json-only") == fleet.drift["json-only"]
    root = ET.parse(rep.xml).getroot()
    props = {p.get("name"): p.get("value")
             for p in root.find("testsuite").iter("property")}
    assert props["source.docker"].startswith("ERROR: snapshot ")
    assert props["source.db"].startswith("ok: ")


def test_unreachable_database_errors_without_its_password(tmp_path):
    # Port 9 (discard) is closed here: the connection is refused at once.
    url = "mysql+pymysql://decnet:Pa55-w0rd-x@127.0.0.1:9/decnet"
    rep = audit_all(tmp_path, tmp_path / "no-state.json", url,
                    PsCapture(tmp_path / "ps.jsonl").args())
    assert rep.rc == 2
    cases = read_junit(rep.xml, rep.json)
    # Every rule needs the database: each is one error, none a pass.
    assert {name for _, name in cases} == {"(all deckies)"}
    assert {"json-only", "db-only", "docker-mismatch"} <= {rule for rule, _ in cases}
    assert all(isinstance(c.result[0], junitparser.Error) for c in cases.values())
    data = rep.xml.read_bytes()
    assert b"Pa55-w0rd-x" not in data
    assert b"decnet:***@127.0.0.1:9" in data


def test_hostile_names_stay_well_formed_and_visible(tmp_path, sqlite_db):
    fleet = hostile_fleet(tmp_path, sqlite_db)
    rep = audit_all(tmp_path, fleet.state, sqlite_db.url,
                    PsCapture(tmp_path / "ps.jsonl").args())
    cases = read_junit(rep.xml, rep.json)  # parses: the file is well-formed
    assert failed(cases, "docker-mismatch") == {
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "a]]>b&c",
        "esc\\x1b[31mred\\x00nul",  # escaped, not dropped
        "nonchar\\uffff",
    }
    assert failed(cases, "db-only") == {"\\xffA"}
    assert failed(cases, "json-only") == {"<b>json</b>'only"}
    data = rep.xml.read_bytes()
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", data)
    assert "\uffff".encode() not in data
    assert b"<script>" not in data and b"&lt;script&gt;" in data
    msg = cases[("docker-mismatch", "esc\\x1b[31mred\\x00nul")].result[0].message
    assert "esc\\x1b[31mred\\x00nul-ssh: missing" in msg


def test_testcase_names_are_stable_across_runs(tmp_path, sqlite_db):
    docker = PsCapture(tmp_path / "ps.jsonl")
    fleet = drifted_fleet(tmp_path, sqlite_db, docker)
    first = audit_all(tmp_path, fleet.state, sqlite_db.url, docker_args(docker))
    keys1 = [c[:3] for c in junit_cases(first.xml)]
    second = audit_all(tmp_path, fleet.state, sqlite_db.url, docker_args(docker))
    keys2 = [c[:3] for c in junit_cases(second.xml)]
    assert keys1 == keys2 and len(set(keys1)) == len(keys1)
    stamp = first.json["started_at"][:10]
    assert not any(stamp in part for key in keys1 for part in key)


def _rule(rule_id: str, code: str, safety=None) -> RuleInfo:
    return RuleInfo(rule_id, code, f"{rule_id} summary", f"{rule_id} summary\n\ndoc",
                    safety is not None, safety, ("state",))


def test_waived_crashed_and_multi_finding_checks_render_as_junit_expects():
    # Waivers and rule crashes come from other parts of the tool; their model
    # is built here directly to pin the mapping.
    f1 = Finding("config-drift", "DA010", "web", "local", "ip differs", "10.0.0.1", "10.0.0.2",
                 fixable=True, field="decky_ip")
    f2 = Finding("config-drift", "DA010", "web", "local", "services differ", ["ssh"], ["http"],
                 field="services", waived=True, waiver_reason="migration ticket OPS-12")
    w = Finding("config-drift", "DA010", "db1", "local", "ip differs", "a", "b",
                waived=True, waiver_reason="known")
    result = AuditResult(
        host_uuid="local", started_at="2026-01-01T00:00:00+00:00", duration=0.00001,
        sources={"state": SourceStatus("state", True, "s.json", "2 deckies")},
        rules=[_rule("config-drift", "DA010", "safe"), _rule("boom", "DA099")],
        checks=[
            Check("config-drift", "web", DRIFT, [f1, f2]),
            Check("config-drift", "db1", WAIVED, [w]),
            Check("boom", "*", ERROR, error="rule crashed: ZeroDivisionError: division by zero",
                  crashed=True),
        ],
        rule_seconds={"config-drift": 1234.56789, "boom": 0.00002},
    )
    data = render_xml(result)
    SCHEMA.validate(ET.fromstring(data))
    root = ET.fromstring(data)
    # A suite's time is its rule's own, to the microsecond (rules are fast).
    assert [s.get("time") for s in root.iter("testsuite")] == ["1234.567890", "0.000020"]
    assert root.get("time") == "0.000"
    suites = list(junitparser.JUnitXml.fromstring(data))
    web, db1 = list(suites[0])
    assert isinstance(web.result[0], junitparser.Failure) and len(web.result) == 1
    assert web.result[0].message == "ip differs"  # the waived finding is not the failure
    assert "waived: migration ticket OPS-12" in web.result[0].text
    assert isinstance(db1.result[0], junitparser.Skipped)
    assert db1.result[0].message == "waived: known"
    assert suites[0].skipped == 1 and suites[0].failures == 1
    (boom,) = list(suites[1])
    assert boom.name == "(all deckies)" and boom.result[0].type == "rule-crashed"


def test_names_that_escape_alike_stay_distinct():
    checks = [Check("r", "a\x1b", PASSED), Check("r", "a\\x1b", PASSED), Check("r", "*", ERROR)]
    assert case_names(checks) == ["a\\x1b", "a\\x1b #2", "(all deckies)"]


def test_reports_replace_old_ones_whole_and_one_unwritable_path_spares_the_others(
        tmp_path, sqlite_db):
    docker = PsCapture(tmp_path / "ps.jsonl")
    fleet = drifted_fleet(tmp_path, sqlite_db, docker)
    out = tmp_path / "reports"
    out.mkdir()
    old = out / "audit.xml"
    old.write_text("OLD-REPORT " * 100_000)
    old_inode = old.stat().st_ino
    rep = audit_all(tmp_path, fleet.state, sqlite_db.url, docker_args(docker))
    # Written beside and renamed over: a new file, never the old one rewritten.
    assert rep.xml.stat().st_ino != old_inode
    assert b"OLD-REPORT" not in rep.xml.read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["audit.html", "audit.json", "audit.xml"]

    blocked = out / "audit.json" / "audit.xml"  # a file where its directory should be
    run = run_cli("--state", str(fleet.state), "--db", sqlite_db.url, *docker_args(docker),
                  "--junitxml", str(blocked), "--html", str(out / "again.html"))
    assert run.rc == 2
    assert run.err.strip() == (f"decnet-audit: cannot write JUnit XML report {blocked}: "
                               f"{out / 'audit.json'} is not a directory")
    assert (out / "again.html").stat().st_size > 0


def test_a_rule_with_no_check_is_no_suite_and_suites_carry_their_time(tmp_path):
    result = AuditResult(
        host_uuid="local", started_at="2026-01-01T00:00:00+00:00", duration=0.5,
        sources={"state": SourceStatus("state", True, "s.json", "1 decky")},
        rules=[_rule("config-drift", "DA010", "safe"), _rule("idle", "SP001")],
        checks=[Check("config-drift", "web", PASSED)],
        rule_seconds={"config-drift": 0.000123, "idle": 0.00001},
        hostname="honeypot-7",
    )
    data = render_xml(result)
    SCHEMA.validate(ET.fromstring(data))
    (suite,) = ET.fromstring(data).iter("testsuite")
    assert suite.attrib | {"name": suite.get("name")} == {
        "name": "config-drift", "tests": "1", "failures": "0", "errors": "0", "skipped": "0",
        "time": "0.000123", "timestamp": "2026-01-01T00:00:00+00:00", "hostname": "honeypot-7"}
    (parsed,) = list(junitparser.JUnitXml.fromstring(data))
    assert (parsed.time, parsed.timestamp, parsed.hostname) == \
        (0.000123, "2026-01-01T00:00:00+00:00", "honeypot-7")
