"""How every renderer groups, names and describes checks and findings.

The console, the file reports (JUnit XML, HTML) and the pytest plugin must
agree on what a testcase is called, on every count and on what a finding
says, so the grouping, the names and the wording live here once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from decnet_audit.exitcode import ExitCode
from decnet_audit.model import (
    ANY_DECKY,
    DRIFT,
    ERROR,
    FIXED,
    OUTCOMES,
    PASSED,
    WAIVED,
    AuditResult,
    Check,
    Finding,
    RuleInfo,
)
from decnet_audit.outcome import exit_code, not_fixable
from decnet_audit.text import visible

# The name of the one check a rule gets when it could not run at all (a
# source it needs was not read, or it crashed): stable across runs.
WHOLE_RULE = "(all deckies)"


@dataclass
class RuleGroup:
    """One rule and its checks: one JUnit testsuite, one HTML section."""

    info: RuleInfo
    checks: list[Check]
    names: list[str]  # the testcase name of each check, unique in the group

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.checks if c.outcome == outcome)


def grouped(result: AuditResult) -> list[RuleGroup]:
    """Every selected rule in order (a rule with no check still appears), then
    any rule that only the checks name."""
    infos = {r.id: r for r in result.rules}
    by_rule: dict[str, list[Check]] = {r.id: [] for r in result.rules}
    for c in result.checks:
        by_rule.setdefault(c.rule, []).append(c)
    groups = []
    for rule_id, checks in by_rule.items():
        info = infos.get(rule_id) or RuleInfo(rule_id, "", "", "", False, None, ())
        groups.append(RuleGroup(info, checks, case_names(checks)))
    return groups


def case_names(checks: list[Check]) -> list[str]:
    """A printable name per check, unique within its rule.

    Two distinct decky names can look alike once escaped (a raw ESC byte and
    the four characters ``\\x1b``); the later one gets a ``#2`` suffix so a CI
    server never merges two testcases. Subjects come in a sorted order, so the
    suffix is stable from run to run."""
    seen: dict[str, int] = {}
    out = []
    for c in checks:
        base = WHOLE_RULE if c.decky == ANY_DECKY else visible(c.decky)
        n = seen.get(base, 0) + 1
        seen[base] = n
        out.append(base if n == 1 else f"{base} #{n}")
    return out


def problems_first(group: RuleGroup) -> list[tuple[Check, str]]:
    """The group's checks with their names, drift and errors before passes."""
    order = {o: i for i, o in enumerate(OUTCOMES)}
    pairs = list(zip(group.checks, group.names, strict=True))
    return sorted(pairs, key=lambda p: order.get(p[0].outcome, len(order)))


def value_text(value: object) -> str:
    """An expected or actual value as an operator reads it: strings as they
    are, structures as indented JSON; always safe to show."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return visible(value, keep_newlines=True)
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return visible(text, keep_newlines=True)


def finding_lines(finding: Finding, *, value: Callable[[object], str] = visible,
                  field: bool = False, waived: bool = True,
                  fix: str | None = None) -> list[tuple[str, str]]:
    """A finding as text, line by line: ``(part, line)`` with part one of
    head, field, expected, actual, waived, fix (so a renderer can colour one).
    ``value`` renders expected and actual; ``field`` adds the field's line,
    ``waived`` the waiver's reason; ``fix`` is the renderer's fix line."""
    out = [("head", f"{finding.code} {visible(finding.message)}")]
    if field and finding.field:
        out.append(("field", f"  field:    {visible(finding.field)}"))
    out.append(("expected", f"  expected: {value(finding.expected)}"))
    out.append(("actual", f"  actual:   {value(finding.actual)}"))
    if waived and finding.waived:
        out.append(("waived", f"  waived:   {visible(finding.waiver_reason)}"))
    if fix is not None:
        out.append(("fix", fix))
    return out


def fix_state(finding: Finding, info: RuleInfo | None) -> tuple[str, str, str]:
    """What ``--fix`` did to a finding, or whether and how it could, as
    (key, state, detail): ``("fixed", "fixed", "inserted row ...")``,
    ``("fixable", "fixable (safe)", "decnet-audit --fix")``. The key is a
    stable word for styling and sorting."""
    if finding.waived:
        return "waived", "waived", visible(finding.waiver_reason or "no reason given")
    if finding.fix_status:
        return (finding.fix_status, finding.fix_status,
                visible(finding.fix_detail) if finding.fix_detail else "")
    if finding.fixable and info is not None and info.fix_safety:
        flag = "--fix" if info.fix_safety == "safe" else "--fix --unsafe-fixes"
        return "fixable", f"fixable ({info.fix_safety})", f"decnet-audit {flag}"
    return "report", "not fixable", "report only"


def fix_text(finding: Finding, info: RuleInfo | None) -> str:
    """:func:`fix_state` in one line: ``fixable (safe): decnet-audit --fix``."""
    _, state, detail = fix_state(finding, info)
    return f"{state}: {detail}" if detail else state


def error_kind(check: Check) -> str:
    return "rule-crashed" if check.crashed else "source-error"


@dataclass
class Verdict:
    key: str  # no-drift, drift, incomplete, internal-error: a CSS class, never the only sign
    headline: str
    detail: str


def verdict(result: AuditResult) -> Verdict:
    """The outcome of the audit in words, consistent with the exit code;
    after --fix, the end state (what was fixed, what drift is left and why)."""
    counts = result.counts()
    total = len(result.checks)
    code = exit_code(result)
    fixed = counts[FIXED]
    waived = f"; {counts[WAIVED]} waived" if counts[WAIVED] else ""
    if fixed:
        cannot = sum(1 for c in result.checks if not_fixable(c))
        left = f"{counts[DRIFT]} still drifted"
        if counts[DRIFT]:
            left += f" ({cannot} not fixable, {counts[DRIFT] - cannot} not fixed)"
        drift = f"after --fix: {fixed} fixed, {left}, {counts[PASSED]} passed"
    else:
        drift = f"{counts[DRIFT]} of {total} checks drifted"
    if code == ExitCode.OK:
        if total == 0:
            return Verdict("no-drift", "No drift", "every source was read; no decky to check")
        if fixed:
            return Verdict("no-drift", "No drift left",
                           f"--fix converged {fixed} check{'s' if fixed != 1 else ''}; the "
                           f"other {counts[PASSED]} passed{waived}")
        return Verdict("no-drift", "No drift",
                       f"the state file, the database and Docker agree: all "
                       f"{counts[PASSED]} checks passed{waived}")
    if code == ExitCode.DRIFT:
        return Verdict("drift", "Drift remains" if fixed else "Drift found", drift + waived)
    if code == ExitCode.INTERNAL:
        return Verdict("internal-error", "Internal error",
                       f"a rule crashed, so this audit proves nothing about its checks; {drift}")
    bad = [s.name for s in result.sources.values() if not s.ok]
    why = []
    if result.interrupted:
        why.append("the audit was interrupted")
    if bad:
        why.append(f"could not read {', '.join(bad)}")
    if counts[ERROR]:
        why.append(f"{counts[ERROR]} checks could not run")
    if total > counts[ERROR]:
        why.append(f"of the checks that ran, {counts[DRIFT]} drifted and "
                   f"{counts[PASSED]} passed{waived}" + (f", {fixed} fixed" if fixed else ""))
    return Verdict("incomplete", "Audit incomplete", "; ".join(why))
