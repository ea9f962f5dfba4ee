"""``--junitxml PATH``: the audit as a JUnit XML test report, for CI servers.

Mapping: one ``<testsuite>`` per rule, one ``<testcase>`` per (rule, decky)
check. A clean check is a passing testcase, drift a ``<failure>``, a check
that could not run (a source it needs was not read, or the rule crashed) an
``<error>``, a waived check ``<skipped>``. The layout is flat
(``testsuites > testsuite > testcase``) and valid against the ``junit-10.xsd``
schema that Jenkins' xUnit plugin applies.

Written with the standard library rather than the ``junit-xml`` package: that
package's output fails ``junit-10.xsd`` (a ``disabled`` attribute on
``testsuites``, times such as ``1e-05``) and it deletes characters XML cannot
hold without a trace, where this report must show them escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DRIFT, ERROR, FIXED, WAIVED, AuditResult, Check, RuleInfo
from decnet_audit.reporter import Reporter
from decnet_audit.text import visible

from .describe import RuleGroup, error_kind, finding_lines, fix_text, grouped, value_text

SUITES_NAME = "decnet-audit"


def seconds(value: float, places: int = 3) -> str:
    """A duration as the schema wants it: plain decimal, never an exponent."""
    return f"{max(value, 0.0):.{places}f}"


def render_xml(result: AuditResult) -> bytes:
    counts = result.counts()
    root = ET.Element("testsuites", {
        "name": SUITES_NAME,
        "tests": str(len(result.checks)),
        "failures": str(counts[DRIFT]),
        "errors": str(counts[ERROR]),
        "time": seconds(result.duration),
    })
    properties = _properties(result)
    stamp = {"timestamp": result.started_at, "hostname": visible(result.hostname)}
    for group in grouped(result):
        if not group.checks:  # a rule with nothing to examine is no suite of tests
            continue
        suite = _suite(group, properties, result.rule_seconds.get(group.info.id, 0.0))
        suite.attrib.update(stamp)
        root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _properties(result: AuditResult) -> list[tuple[str, str]]:
    # Each suite says where the audit read from, so a CI page that shows one
    # suite still tells why its checks errored.
    props = [("host_uuid", result.host_uuid), ("started_at", result.started_at)]
    for name, s in result.sources.items():
        props.append((f"source.{name}", f"{'ok' if s.ok else 'ERROR'}: {s.where}: {s.detail}"))
    if result.interrupted:
        props.append(("interrupted", "true"))
    return props


def _suite(group: RuleGroup, common: list[tuple[str, str]], took: float) -> ET.Element:
    # Rules run over the whole fleet at once, so only a suite has a time of
    # its own; testcases carry none rather than an invented share.
    info = group.info
    suite = ET.Element("testsuite", {
        "name": info.id,
        "tests": str(len(group.checks)),
        "failures": str(group.count(DRIFT)),
        "errors": str(group.count(ERROR)),
        "skipped": str(group.count(WAIVED)),
        # A rule checks a fleet in well under a millisecond: microseconds, so
        # that a suite's time is its own and not 0.000 for every rule.
        "time": seconds(took, 6),
    })
    props = ET.SubElement(suite, "properties")
    for name, value in [("code", info.code), ("summary", info.summary),
                        ("severity", info.severity), *common]:
        ET.SubElement(props, "property", {"name": name, "value": visible(value)})
    for check, name in zip(group.checks, group.names, strict=True):
        suite.append(_case(check, name, info))
    return suite


def _case(check: Check, name: str, info: RuleInfo) -> ET.Element:
    case = ET.Element("testcase", {"classname": f"{SUITES_NAME}.{info.id}", "name": name})
    if check.outcome == DRIFT:
        live = [f for f in check.findings if not f.waived] or check.findings
        message = "; ".join(f.message for f in live)
        _result(case, "failure", live[0].code, message, _body(check, info))
    elif check.outcome == ERROR:
        _result(case, "error", error_kind(check), check.error or "", check.error or "")
    elif check.outcome == FIXED:  # a passing testcase that says what --fix did
        ET.SubElement(case, "system-out").text = visible(_body(check, info), keep_newlines=True)
    elif check.outcome == WAIVED:
        reasons = sorted({f.waiver_reason or "no reason given" for f in check.findings})
        _result(case, "skipped", "waived", "waived: " + "; ".join(reasons), _body(check, info))
    return case


def _result(case: ET.Element, tag: str, kind: str, message: str, body: str) -> None:
    el = ET.SubElement(case, tag, {"type": visible(kind), "message": visible(message)})
    el.text = visible(body, keep_newlines=True)


def _body(check: Check, info: RuleInfo) -> str:
    """Each finding: what is wrong, expected vs actual, and how it converges."""
    blocks = []
    for f in check.findings:
        lines = finding_lines(f, value=lambda v: _indent(value_text(v)), field=True,
                              waived=False, fix="  fix:      " + fix_text(f, info))
        blocks.append("\n".join(line for _part, line in lines))
    return "\n\n".join(blocks)


def _indent(text: str) -> str:
    return text.replace("\n", "\n            ")


class JUnitReporter(Reporter):
    name = "JUnit XML"
    option = "--junitxml"
    help = "write a JUnit XML report to PATH (one testsuite per rule, a testcase per decky)"

    def render(self, result: AuditResult) -> bytes:
        return render_xml(result)


@hookimpl
def decnet_audit_reporters():
    return [JUnitReporter]
