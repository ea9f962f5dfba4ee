"""``--html``: one self-contained page, hostile text escaped, counts equal to
the JUnit report's, every finding shown with expected vs actual."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser

from decnet_audit.model import (
    DRIFT,
    PASSED,
    WAIVED,
    AuditResult,
    Check,
    Finding,
    RuleInfo,
    SourceStatus,
)
from decnet_audit.plugins import load_rules, plugin_manager
from decnet_audit.reports.html import render_html
from kit.report import (
    HOSTILE_NAMES,
    PsCapture,
    audit_all,
    clean_fleet,
    docker_args,
    drifted_fleet,
    hostile_fleet,
)

VOID = {"meta", "link", "input", "br", "img", "hr", "source", "area", "base", "col", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict
    children: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        out = []
        for c in self.children:
            if isinstance(c, Node):
                if (tag is None or c.tag == tag) and (
                        cls is None or cls in (c.attrs.get("class") or "").split()):
                    out.append(c)
                out.extend(c.all(tag, cls))
        return out

    def one(self, tag: str | None = None, cls: str | None = None) -> Node:
        (found,) = self.all(tag, cls)
        return found


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(data: bytes) -> Node:
    tree = _Tree()
    tree.feed(data.decode("utf-8"))
    tree.close()
    assert tree.stack == [tree.root], "unclosed elements"
    return tree.root


def words(text: str) -> str:
    return " ".join(text.split())


def test_hostile_names_are_text_never_markup(tmp_path, sqlite_db):
    fleet = hostile_fleet(tmp_path, sqlite_db)
    rep = audit_all(tmp_path, fleet.state, sqlite_db.url, PsCapture(tmp_path / "ps.jsonl").args())
    data = rep.html.read_bytes()
    doc = parse(data)
    # Only the page's own script and no element or handler a name could inject.
    (script,) = doc.all("script")
    assert script.attrs == {}
    assert doc.all("img") == [] and doc.all("b") == []
    assert not [(n.tag, a) for n in doc.all() for a in n.attrs if a.startswith("on")]
    assert b"<script>alert" not in data and b"<img" not in data
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", data)
    shown = {n.text for n in doc.all(cls="decky")}
    assert {
        "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "a]]>b&c",
        "esc\\x1b[31mred\\x00nul", "nonchar\\uffff", "\\xffA", "<b>json</b>'only",
    } <= shown
    # Every data attribute holds what the page put there, nothing a name broke into.
    for node in doc.all():
        if "data-rule" in node.attrs:
            assert re.fullmatch(r"[a-z0-9-]+", node.attrs["data-rule"])
    assert len(HOSTILE_NAMES) == len(
        [c for c in doc.all("tbody", "check") if c.attrs["data-rule"] == "docker-mismatch"])


def test_page_is_self_contained(tmp_path, sqlite_db):
    docker = PsCapture(tmp_path / "ps.jsonl")
    fleet = drifted_fleet(tmp_path, sqlite_db, docker)
    rep = audit_all(tmp_path, fleet.state, sqlite_db.url, docker_args(docker))
    doc = parse(rep.html.read_bytes())
    assert doc.all("link") == [] and doc.all("iframe") == [] and doc.all("img") == []
    for node in doc.all():
        for name, value in node.attrs.items():
            if name == "href":
                assert value.startswith("#"), value
            assert name not in ("src", "srcset", "action", "formaction", "poster", "background")
            assert "://" not in (value or "") and not (value or "").startswith("//")
    for node in doc.all("style") + doc.all("script"):
        assert not re.search(r"url\(|@import|://|fetch\(|XMLHttpRequest", node.text)
    csp = [m.attrs["content"] for m in doc.all("meta")
           if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0] and "unsafe-inline" not in csp[0]


def test_header_counts_and_findings_match_the_other_reports(tmp_path, sqlite_db):
    docker = PsCapture(tmp_path / "ps.jsonl")
    fleet = drifted_fleet(tmp_path, sqlite_db, docker)
    rep = audit_all(tmp_path, fleet.state, sqlite_db.url, docker_args(docker))
    doc = parse(rep.html.read_bytes())
    html = doc.one("html")
    assert html.attrs["lang"] == "en"
    assert any(m.attrs.get("charset") == "utf-8" for m in doc.all("meta"))
    # The machine and DECNET's host uuid: reports of several hosts told apart.
    assert doc.one("title").text == f"decnet-audit: Drift found on {socket.gethostname()} (local)"
    assert rep.json["hostname"] == socket.gethostname()

    verdict = doc.one("p", "verdict")
    assert words(verdict.text).startswith("✗ Drift found: 4 of ")
    meta = words(doc.one("p", "meta").text)
    assert meta.startswith(f"DECNET host local · started {rep.json['started_at']}, took ")
    assert meta.endswith("· exit code 1")
    rows = {r.one("th").text: [words(td.text) for td in r.all("td")]
            for r in doc.one("table", "sources").one("tbody").all("tr")}
    assert rows["state"] == ["✓ OK", str(fleet.state), "4 deckies"]
    assert rows["db"][:2] == ["✓ OK", sqlite_db.url]
    assert rows["docker"][:2] == ["✓ OK", f"snapshot {docker.path}"]

    # The counts table equals the JUnit file, rule by rule and in total.
    junit = ET.parse(rep.xml).getroot()
    counts = doc.one("table", "counts")
    for suite in junit.iter("testsuite"):
        (row,) = [r for r in counts.one("tbody").all("tr")
                  if r.attrs["data-rule"] == suite.get("name")]
        cells = {td.attrs["data-outcome"]: int(td.text) for td in row.all("td")
                 if "data-outcome" in td.attrs}
        assert (cells["total"], cells["drift"], cells["error"], cells["waived"]) == (
            int(suite.get("tests")), int(suite.get("failures")), int(suite.get("errors")),
            int(suite.get("skipped")))
    total = {td.attrs["data-outcome"]: int(td.text) for td in counts.one("tfoot").all("td")
             if "data-outcome" in td.attrs}
    s = rep.json["summary"]
    assert total == {"drift": s["drifted"], "error": s["errors"], "waived": s["waived"],
                     "fixed": s["fixed_checks"], "passed": s["passed"], "total": s["checks"]}
    assert total["total"] == int(junit.get("tests"))

    # Each finding: its decky, expected and actual side by side, and the fix.
    checks = doc.all("tbody", "check")
    assert len(checks) == s["drifted"] + s["errors"] + s["waived"]
    for f in rep.json["findings"]:
        (check,) = [c for c in checks if c.attrs["data-rule"] == f["rule"]
                    and c.one(cls="decky").text == f["decky"]]
        assert check.attrs["data-outcome"] == DRIFT
        row = check.one("tr")
        assert words(row.one("td", "outcome").text) == "✗ DRIFT"
        assert row.one("td", "sev").text == f["severity"]
        assert words(row.one("td", "rule").text) == f"{f['code']} {f['rule']}"
        # The field once: not again when the message already starts with it.
        shows_field = f["field"] and not f["message"].startswith(f"{f['field']}:")
        assert words(row.one("td", "finding").text) == (
            f"{f['code']} {f['field']}: {f['message']}" if shows_field
            else f"{f['code']} {f['message']}")
        assert row.one("td", "expected").text == f["expected"]
        assert row.one("td", "actual").text == f["actual"]
        fix = row.one("td", "fix").text
        assert ("decnet-audit --fix" in fix) if f["fixable"] else ("report only" in fix)
    passed = {c.one(cls="decky").text for c in doc.all("li", "check")
              if c.attrs["data-rule"] == "docker-mismatch"}
    assert set(fleet.clean) <= passed


def test_accessible_structure(tmp_path, sqlite_db):
    docker = PsCapture(tmp_path / "ps.jsonl")
    fleet = drifted_fleet(tmp_path, sqlite_db, docker)
    rep = audit_all(tmp_path, fleet.state, sqlite_db.url, docker_args(docker))
    doc = parse(rep.html.read_bytes())
    tables = doc.all("table")
    assert len(tables) >= 3
    for t in tables:
        first = next(c for c in t.children if isinstance(c, Node))
        assert first.tag == "caption" and first.text.strip()
    assert all(th.attrs.get("scope") in ("col", "row", "rowgroup") for th in doc.all("th"))
    for d in doc.all("details"):
        assert next(c for c in d.children if isinstance(c, Node)).tag == "summary"
    # Status in words beside any colour.
    outcomes = doc.all("td", "outcome")
    assert outcomes and all(re.fullmatch(r". (DRIFT|ERROR|FIXED|WAIVED \(skipped\))", td.text)
                            for td in outcomes)
    assert all(d.one("summary").text.startswith("✓ ") and "passed check" in d.one("summary").text
               for d in doc.all("details", "passed-list"))
    rule_docs = {r.id: words(r.info().doc) for r in load_rules(plugin_manager())}
    for section in doc.all("section", "rule"):
        rid = section.attrs["data-rule"]
        assert words(section.one("details", "doc").one("pre").text) == rule_docs[rid]


def test_clean_fleet_says_no_drift(tmp_path, sqlite_db):
    docker = PsCapture(tmp_path / "ps.jsonl")
    fleet = clean_fleet(tmp_path, sqlite_db, docker)
    rep = audit_all(tmp_path, fleet.state, sqlite_db.url, docker_args(docker))
    doc = parse(rep.html.read_bytes())
    verdict = doc.one("p", "verdict")
    assert "v-no-drift" in verdict.attrs["class"]
    assert words(verdict.text).startswith(
        "✓ No drift: the state file, the database and Docker agree")
    assert doc.all("tbody", "check") == []
    shown = {c.one(cls="decky").text for c in doc.all("li", "check")}
    assert set(fleet.clean) == shown


def test_unreadable_database_is_shown_without_its_password(tmp_path):
    url = "mysql+pymysql://decnet:Pa55-w0rd-x@127.0.0.1:9/decnet"
    rep = audit_all(tmp_path, tmp_path / "none.json", url, PsCapture(tmp_path / "ps.jsonl").args())
    data = rep.html.read_bytes()
    assert b"Pa55-w0rd-x" not in data
    doc = parse(data)
    assert words(doc.one("p", "verdict").text).startswith("! Audit incomplete: could not read db")
    row = [r for r in doc.one("table", "sources").all("tr") if r.all("th")[0].text == "db"][0]
    cells = [words(td.text) for td in row.all("td")]
    assert cells[0] == "✗ NOT READ" and cells[1] == "mysql+pymysql://decnet:***@127.0.0.1:9/decnet"
    errors = doc.all("tbody", "check")
    assert errors and all(c.attrs["data-outcome"] == "error" for c in errors)
    assert all(c.one(cls="decky").text == "(all deckies)" for c in errors)
    assert all("db not read" in c.one("td", "error").text for c in errors)


def test_fix_results_and_waivers_are_shown():
    # --fix and waivers are other parts of the tool; their fields are set
    # here directly to pin how the page shows them.
    info = RuleInfo("db-only", "DA002", "Row without decky.", "Row without decky.\n\nMore.",
                    True, "unsafe", ("state", "db"))
    fixed = Finding("db-only", "DA002", "gone", "local", "row without decky", "no row",
                    {"state": "running"}, fixable=True, fix_status="fixed",
                    fix_detail="row deleted (journal 7)")
    waived = Finding("db-only", "DA002", "kept", "local", "row without decky", "no row", "row",
                     fixable=True, waived=True, waiver_reason="kept for forensics")
    result = AuditResult("local", "2026-01-01T00:00:00+00:00", 0.5,
                         {"db": SourceStatus("db", True, "sqlite:///x.db", "2 rows")}, [info],
                         [Check("db-only", "gone", DRIFT, [fixed]),
                          Check("db-only", "kept", WAIVED, [waived])])
    doc = parse(render_html(result))
    fixes = [words(td.text) for td in doc.all("td", "fix")]
    assert fixes == ["fixed: row deleted (journal 7)", "waived: kept for forensics"]
    badges = [words(td.text) for td in doc.all("td", "outcome")]
    assert badges == ["✗ DRIFT", "~ WAIVED (skipped)"]
    actual = [td.text for td in doc.all("td", "actual")]
    assert actual[0] == '{\n  "state": "running"\n}'


def test_jinja2_is_loaded_only_when_html_is_written():
    code = ("import sys, decnet_audit.reports.html, decnet_audit.cli; "
            "print('jinja2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _result(checks, rules, **kw) -> AuditResult:
    return AuditResult("c0ffee-host", "2026-01-01T00:00:00+00:00", 0.5,
                       {"db": SourceStatus("db", True, "sqlite:///x.db", "2 rows")}, rules,
                       checks, hostname="honeypot-7", **kw)


def _info(rule_id, code, severity, safety="safe") -> RuleInfo:
    return RuleInfo(rule_id, code, f"{rule_id} summary.", f"{rule_id} summary.\n\nMore.",
                    safety is not None, safety, ("state", "db"), severity=severity)


def test_one_findings_table_first_worst_first_then_sources_and_rules():
    low, high = _info("config-drift", "DA006", "low"), _info("docker-mismatch", "DA003", "high")
    checks = [
        Check("config-drift", "a", DRIFT, [Finding("config-drift", "DA006", "a", "local",
              "decky_config.hostname: row has 'x', state file has 'y'", "y", "x",
              fixable=True, field="decky_config.hostname")]),
        Check("config-drift", "b", PASSED),
        Check("docker-mismatch", "z", DRIFT, [Finding("docker-mismatch", "DA003", "z", "local",
              "state differs", "running", "failed", fixable=True, field="state")]),
    ]
    doc = parse(render_html(_result(checks, [low, high])))
    assert doc.one("title").text == "decnet-audit: Drift found on honeypot-7 (c0ffee-host)"
    main = doc.one("main")
    sections = [c for c in main.children if isinstance(c, Node)]
    assert [c.attrs.get("id") for c in sections[:2]] == ["findings-section", "sources"]
    # One table for all rules, high severity first, with the severity shown.
    tables = sections[0].all("table", "findings")
    rows = [(c.attrs["data-rule"], c.attrs["data-severity"]) for t in tables
            for c in t.all("tbody", "check")]
    assert rows == [("docker-mismatch", "high"), ("config-drift", "low")]
    # The field is not printed twice ("decky_config.hostname: decky_config.hostname: ...").
    findings = [words(td.text) for td in doc.all("td", "finding")]
    assert findings == ["DA003 state: state differs",
                        "DA006 decky_config.hostname: row has 'x', state file has 'y'"]
    fixes = [words(td.text) for td in doc.all("td", "fix")]
    assert fixes == ["fixable (safe): decnet-audit --fix"] * 2


def test_footer_lists_every_exit_code():
    doc = parse(render_html(_result([], [])))
    codes = [li.one("strong").text for li in doc.one("footer").all("li")]
    assert codes == ["0", "1", "2", "3", "4", "5", "6"]


def test_a_missing_state_file_is_not_ok():
    result = AuditResult("local", "2026-01-01T00:00:00+00:00", 0.1, {
        "state": SourceStatus("state", True, "decnet-state.json",
                              "file not found: nothing deployed (empty fleet)", missing=True)},
        [], [])
    doc = parse(render_html(result))
    (row,) = doc.one("table", "sources").one("tbody").all("tr")
    assert words(row.one("td", "status").text) == "! ABSENT"
