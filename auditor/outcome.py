"""The numbers every report agrees on, and the exit code they imply."""

from __future__ import annotations

from .exitcode import ExitCode
from .model import DRIFT, ERROR, FIXED, PASSED, PLANNED, WAIVED, AuditResult, Check


def crashed(result: AuditResult) -> bool:
    """A rule raised: an internal error (exit 3), not drift."""
    return any(c.crashed for c in result.checks)


def exit_code(result: AuditResult) -> ExitCode:
    if crashed(result):
        return ExitCode.INTERNAL
    if not result.complete or result.counts()[ERROR]:
        return ExitCode.INCOMPLETE
    if result.counts()[DRIFT]:
        return ExitCode.DRIFT
    return ExitCode.OK


def settle_fixes(result: AuditResult) -> None:
    """After --fix has verified its fixes: a drifted check all of whose
    unwaived findings the re-audit no longer reports is FIXED, so that every
    count, line and report afterwards tells the end state."""
    for c in result.checks:
        live = [f for f in c.findings if not f.waived]
        if c.outcome == DRIFT and live and all(f.fixed for f in live):
            c.outcome = FIXED


def not_fixable(check: Check) -> bool:
    """A drifted check no fix can converge (report-only findings)."""
    return check.outcome == DRIFT and not any(
        f.fixable for f in check.findings if not f.waived)


def _fix_ran(result: AuditResult) -> bool:
    return any(f.fix_status not in (None, PLANNED) for f in result.findings)


def summary(result: AuditResult) -> dict:
    counts = result.counts()
    return {
        "checks": len(result.checks),
        "drifted": counts[DRIFT],
        "passed": counts[PASSED],
        "waived": counts[WAIVED],
        "errors": counts[ERROR],
        "findings": len(result.findings),
        "fixed": sum(1 for f in result.findings if f.fixed),
        "fixed_checks": counts[FIXED],
        "not_fixable": sum(1 for c in result.checks if not_fixable(c)),
        "complete": result.complete,
        "interrupted": result.interrupted,
        "duration_seconds": round(result.duration, 3),
    }


def summary_line(result: AuditResult) -> str:
    """pytest's closing line: ``3 drifted, 41 passed, 1 error in 0.21s``;
    after --fix ``6 drifted (4 not fixable, 2 not fixed), 21 passed, 3 fixed``."""
    counts = result.counts()
    parts = []
    if counts[DRIFT]:
        text = f"{counts[DRIFT]} drifted"
        if _fix_ran(result):
            cannot = sum(1 for c in result.checks if not_fixable(c))
            why = [f"{cannot} not fixable"] if cannot else []
            if counts[DRIFT] - cannot:
                why.append(f"{counts[DRIFT] - cannot} not fixed")
            text += f" ({', '.join(why)})"
        parts.append(text)
    if counts[PASSED]:
        parts.append(f"{counts[PASSED]} passed")
    if counts[WAIVED]:
        parts.append(f"{counts[WAIVED]} waived")
    if counts[FIXED]:
        parts.append(f"{counts[FIXED]} fixed")
    if counts[ERROR]:
        parts.append(f"{counts[ERROR]} error" + ("s" if counts[ERROR] > 1 else ""))
    if result.interrupted:
        parts.append("interrupted")
    text = ", ".join(parts) if parts else "no checks ran"
    return f"{text} in {result.duration:.2f}s"
