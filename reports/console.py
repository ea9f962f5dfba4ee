"""The pytest-like console output: header, per-rule progress, details, summary."""

from __future__ import annotations

import os
import shutil
from typing import TextIO

from decnet_audit.config.waivers import APPLIED, EXPIRED, UNUSED
from decnet_audit.model import (
    DRIFT,
    ERROR,
    FIXED,
    PASSED,
    PLANNED,
    WAIVED,
    AuditResult,
    Check,
    Fleet,
)
from decnet_audit.outcome import not_fixable, summary_line
from decnet_audit.rule import Rule
from decnet_audit.text import visible

from .describe import finding_lines

_LETTER = {PASSED: ".", DRIFT: "F", ERROR: "E", WAIVED: "s", FIXED: "f"}
_COLOUR = {"red": "31", "green": "32", "yellow": "33", "bold": "1"}


def wants_colour(stream: TextIO, mode: str = "auto") -> bool:
    """``--color always|never`` wins; ``auto``: NO_COLOR off, FORCE_COLOR on,
    else colour only on a terminal that is not ``TERM=dumb``."""
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


class Console:
    def __init__(self, stream: TextIO, verbosity: int = 0, colour: bool | None = None):
        self.out = stream
        self.verbosity = verbosity
        self.colour = wants_colour(stream) if colour is None else colour
        self.width = max(60, min(shutil.get_terminal_size((80, 24)).columns, 120))
        self._total_rules = 0
        self._done_rules = 0

    # -- primitives ---------------------------------------------------------

    def _paint(self, text: str, colour: str | None) -> str:
        if not (self.colour and colour):
            return text
        return f"\x1b[{_COLOUR[colour]}m{text}\x1b[0m"

    def line(self, text: str = "", colour: str | None = None) -> None:
        self.out.write(self._paint(text, colour) + "\n")
        self.out.flush()

    def rule_line(self, title: str, fill: str = "=", colour: str | None = None) -> None:
        title = f" {title} " if title else ""
        pad = max(self.width - len(title), 4)
        self.line(fill * (pad // 2) + title + fill * (pad - pad // 2), colour)

    # -- the run ------------------------------------------------------------

    def header(self, fleet: Fleet, rules: list[Rule]) -> None:
        if self.verbosity < 0:
            return
        self.rule_line("decnet-audit session starts", colour="bold")
        for line in fleet.provenance:
            self.line(visible(line))
        self.line(f"host_uuid: {visible(fleet.host_uuid)}  role: {fleet.role}")
        for name, s in fleet.sources.items():
            word, colour = ("ERROR", "red") if not s.ok else \
                ("ABSENT", "yellow") if s.missing else ("ok", "green")
            status = self._paint(f"{word:<6}", colour)
            self.line(f"{name:<7}{status} {visible(s.where)}: {visible(s.detail)}")
        skipped: dict[str, list[str]] = {}
        for r in rules:
            why = r.not_applicable(fleet)
            if why is not None:
                skipped.setdefault(why, []).append(r.id)
        running = [r for r in rules if all(r.id not in ids for ids in skipped.values())]
        self.line(f"rules: {len(running)} selected ({', '.join(r.id for r in running)})")
        for why, ids in skipped.items():
            # A unihost would always list the master pack: only -v or a worker says so.
            if self.verbosity > 0 or fleet.role == "worker":
                self.line(f"not applicable: {', '.join(ids)} ({why})")
        self.line()
        self._total_rules = len(running)

    def rule_done(self, rule: Rule, checks: list[Check]) -> None:
        if self.verbosity < 0:
            return
        self._done_rules += 1
        pct = f"[{100 * self._done_rules // max(self._total_rules, 1):>3}%]"
        if self.verbosity > 0:
            for c in checks:
                word = {PASSED: ("PASSED", "green"), DRIFT: ("DRIFT", "red"),
                        ERROR: ("ERROR", "red"), WAIVED: ("WAIVED", "yellow"),
                        FIXED: ("FIXED", "green")}[c.outcome]
                self.line(f"{rule.id}::{visible(c.decky)} {self._paint(*word)}")
            return
        head = f"{rule.id} ({rule.code}) "
        if not checks:  # a rule with nothing to examine says so, not a blank line
            head += "no decky to examine"
        letters = "".join(_LETTER[c.outcome] for c in checks)
        space = self.width - len(head) - len(pct) - 1
        self.out.write(head + self._paint_letters(letters[:space]))
        self.out.write(" " * max(space - len(letters[:space]), 1) + pct + "\n")
        for start in range(space, len(letters), self.width - 8):
            self.out.write("  " + self._paint_letters(letters[start:start + self.width - 8]) + "\n")
        self.out.flush()

    def _paint_letters(self, letters: str) -> str:
        if not self.colour:
            return letters
        colours = {".": "green", "F": "red", "E": "red", "s": "yellow"}
        return "".join(self._paint(ch, colours[ch]) for ch in letters)

    def report(self, result: AuditResult) -> None:
        colour = "red" if result.counts()[DRIFT] or result.counts()[ERROR] else "green"
        if self.verbosity >= 0:
            self._details(result)
            self._short_summary(result)
            self._waivers(result)
        if result.interrupted:
            self.line("!!! interrupted: the audit is incomplete !!!", "red")
        self.rule_line(summary_line(result), colour=colour) if self.verbosity >= 0 else \
            self.line(summary_line(result), colour)

    def _details(self, result: AuditResult) -> None:
        rule_info = {r.id: r for r in result.rules}
        # A source that was not read is said in the header and the summary,
        # not again for each rule that needed it: only crashes get a section.
        errors = [c for c in result.checks if c.outcome == ERROR and c.crashed]
        drifted = [c for c in result.checks if c.outcome in (DRIFT, WAIVED)]
        if errors:
            self.line()
            self.rule_line("ERRORS", colour="red")
            for c in errors:
                self.rule_line(f"{c.rule}::{visible(c.decky)}", fill="_", colour="red")
                self.line(visible(c.error))
        if drifted:
            self.line()
            self.rule_line("DRIFT", colour="red")
            for c in drifted:
                self.rule_line(f"{c.rule}::{visible(c.decky)}", fill="_", colour="red")
                info = rule_info.get(c.rule)
                for f in c.findings:
                    for part, line in finding_lines(f, fix=_fix_line(f, info)):
                        self.line(line, "yellow" if part == "waived" else None)

    def _waivers(self, result: AuditResult) -> None:
        # Expired and unused waivers change no outcome but need an owner's
        # attention; applied ones already show beside their findings.
        shown = [w for w in result.waivers if w.status in (EXPIRED, UNUSED)
                 or self.verbosity > 0]
        if shown:
            self.rule_line("waivers", colour="yellow")
            for w in shown:
                self.line(visible(w.line()), "yellow" if w.status != APPLIED else None)

    def _short_summary(self, result: AuditResult) -> None:
        lines = [f"ERROR source {s.name} not read ({visible(s.where)}): {visible(s.detail)}"
                 for s in result.sources.values() if not s.ok]
        not_run = [c.rule for c in result.checks if c.outcome == ERROR and not c.crashed]
        for c in result.checks:
            if c.outcome == DRIFT:
                first = c.findings[0].message if c.findings else ""
                lines.append(f"DRIFT {c.rule}::{visible(c.decky)} - {_left(c)}{visible(first)}")
            elif c.outcome == FIXED:
                done = c.findings[0].fix_detail or "" if c.findings else ""
                lines.append(f"FIXED {c.rule}::{visible(c.decky)} - {visible(done)}")
            elif c.outcome == ERROR and c.crashed:
                lines.append(f"ERROR {c.rule}::{visible(c.decky)} - {visible(c.error)}")
        if not_run:
            lines.append(f"ERROR not run for want of a source: {', '.join(not_run)}")
        if lines:
            if not any(c.outcome in (DRIFT, WAIVED) or c.crashed for c in result.checks):
                self.line()  # no section above to set it off from the progress
            self.rule_line("short audit summary info")
            for text in lines:
                # A drift's message is cut to two lines; an error is said whole.
                self.line(text if text.startswith("ERROR") else text[: self.width * 2])


def _fix_line(f, info) -> str:
    if f.fix_status:
        return f"  fix:      {f.fix_status}: {visible(f.fix_detail)}"
    if f.fixable and info:
        flag = "--fix" if info.fix_safety == "safe" else "--fix --unsafe-fixes"
        return f"  fixable:  yes ({info.fix_safety}): decnet-audit {flag}"
    return "  fixable:  no (report only)"


def _left(check: Check) -> str:
    """Why --fix left a drifted check, as a prefix; nothing without --fix."""
    tried = [f.fix_status for f in check.findings
             if f.fix_status not in (None, PLANNED) and not f.waived]
    if not tried:
        return ""
    return "[not fixable] " if not_fixable(check) else f"[{tried[0]}] "
