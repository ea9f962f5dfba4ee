"""Waivers: known drift that stays visible but does not fail the audit.

A waiver names a rule, a decky pattern (``fnmatch``: ``*``, ``?``, ``[...]``,
case-sensitive), optionally one finding field, a required reason and an
optional expiry date. It applies through its ``expires`` day; from the next
day on it no longer applies and is reported as expired.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from fnmatch import fnmatchcase

from ..model import DRIFT, ERROR, WAIVED, AuditResult, Check, Finding
from .toml import TomlFile

APPLIED, EXPIRED, UNUSED, NOT_RUN = "applied", "expired", "unused", "not-run"

KEYS = ("rule", "decky", "field", "reason", "expires", "added")


@dataclass(frozen=True)
class Waiver:
    rule: str  # a rule id once the config is resolved against the loaded rules
    decky: str  # fnmatch pattern over the decky name
    reason: str
    field: str | None = None  # only findings about this field
    expires: date | None = None  # last day the waiver applies
    added: date | None = None  # when it was written (baselines record it)
    where: str = ""  # "file:line", for messages

    def matches(self, finding: Finding) -> bool:
        return (
            finding.rule == self.rule
            and fnmatchcase(finding.decky, self.decky)
            and (self.field is None or finding.field == self.field)
        )

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires

    def describe(self) -> str:
        what = f"{self.rule} {self.decky}"
        return what + (f" field {self.field}" if self.field else "")


def parse_waiver(doc: TomlFile, table: tuple[str, ...], nth: int, entry: object) -> Waiver:
    """One ``[[...waivers]]`` table, checked key by key; errors name the line."""
    head = doc.table_line(table, nth)
    if not isinstance(entry, dict):
        raise doc.error(head, f"waiver #{nth + 1}: expected a table, got {_kind(entry)}")

    def line_of(key: str) -> int:
        return doc.key_line(table, key, nth)

    for key in entry:
        if key not in KEYS:
            raise doc.error(line_of(key), f"waiver #{nth + 1}: unknown key {key!r} "
                                          f"(known: {', '.join(KEYS)})")
    for key in ("rule", "decky", "reason"):
        if key not in entry:
            raise doc.error(head, f"waiver #{nth + 1}: {key!r} is required")
    for key in ("rule", "decky", "reason", "field"):
        value = entry.get(key)
        if key in entry and (not isinstance(value, str) or not value.strip()):
            raise doc.error(line_of(key), f"waiver #{nth + 1}: {key!r} must be a non-empty "
                                          f"string, got {value!r}")
    dates = {}
    for key in ("expires", "added"):
        if key in entry:
            dates[key] = _date(doc, line_of(key), f"waiver #{nth + 1}: {key!r}", entry[key])
    return Waiver(
        rule=entry["rule"].strip(),
        decky=entry["decky"],
        reason=entry["reason"].strip(),
        field=entry.get("field"),
        where=f"{doc.path}:{head}",
        **dates,
    )


def parse_waivers(doc: TomlFile, table: tuple[str, ...], value: object) -> list[Waiver]:
    if not isinstance(value, list):
        shown = "[[" + ".".join(table) + "]]"
        raise doc.error(doc.table_line(table), f"waivers must be an array of tables ({shown})")
    return [parse_waiver(doc, table, i, entry) for i, entry in enumerate(value)]


def _date(doc: TomlFile, line: int, what: str, value: object) -> date:
    # A TOML date literal (2027-01-31) or the same as a string; never a time.
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise doc.error(line, f"{what} must be a date like 2027-01-31, got {value!r}")


def _kind(value: object) -> str:
    return type(value).__name__


@dataclass
class WaiverStatus:
    """What became of one waiver in a run."""

    waiver: Waiver
    status: str  # applied / expired / unused / not-run
    matched: int  # findings waived (for an expired one: findings it no longer waives)

    def line(self) -> str:
        """One console line: ``EXPIRED file:line rule decky: why: reason``."""
        w = self.waiver
        n = f"{self.matched} finding{'s' if self.matched != 1 else ''}"
        why = {
            APPLIED: f"waived {n}",
            EXPIRED: f"expired after {w.expires}, no longer applies"
                     + (f": {n} {'fails' if self.matched == 1 else 'fail'} again"
                        if self.matched else ""),
            UNUSED: "matched no finding: the drift it waived is gone",
            NOT_RUN: "not checked: its rule did not run in full",
        }[self.status]
        return f"{self.status.upper():<8}{w.where} {w.describe()}: {why}; reason: {w.reason}"

    def as_dict(self) -> dict:
        w = self.waiver
        return {
            "rule": w.rule, "decky": w.decky, "field": w.field, "reason": w.reason,
            "expires": w.expires.isoformat() if w.expires else None,
            "added": w.added.isoformat() if w.added else None,
            "where": w.where, "status": self.status, "matched": self.matched,
        }


@dataclass
class WaiverSet:
    """Waivers in the order they were read; the first that matches a finding
    gives it its reason, and every matching waiver counts as used."""

    waivers: list[Waiver]
    today: date
    matched: dict[int, int] = field(default_factory=dict)  # index -> findings

    def apply(self, checks: Iterable[Check]) -> list[Finding]:
        """Mark the findings the waivers cover; a check becomes WAIVED only
        when every one of its findings is. Returns the findings left unwaived."""
        left = []
        for check in checks:
            for finding in check.findings:
                self._waive(finding)
                if not finding.waived:
                    left.append(finding)
            settle(check)
        return left

    def _waive(self, finding: Finding) -> None:
        for i, w in enumerate(self.waivers):
            if w.matches(finding):
                self.matched[i] = self.matched.get(i, 0) + 1
                if not w.expired(self.today) and not finding.waived:
                    finding.waived = True
                    finding.waiver_reason = w.reason

    def statuses(self, result: AuditResult) -> list[WaiverStatus]:
        ran_fully = _rules_run_fully(result)
        out = []
        for i, w in enumerate(self.waivers):
            hits = self.matched.get(i, 0)
            if w.expired(self.today):
                status = EXPIRED
            elif hits:
                status = APPLIED
            elif w.rule in ran_fully:
                status = UNUSED
            else:
                status = NOT_RUN
            out.append(WaiverStatus(w, status, hits))
        return out


def settle(check: Check) -> None:
    if check.outcome == DRIFT and check.findings and all(f.waived for f in check.findings):
        check.outcome = WAIVED


def _rules_run_fully(result: AuditResult) -> set[str]:
    """Rules whose every check ran: only for those can a waiver that matched
    nothing be called unused (not for a rule left out, failed, or cut by -k)."""
    if result.interrupted or result.deselected:
        return set()
    failed = {c.rule for c in result.checks if c.outcome == ERROR}
    return {r.id for r in result.rules} - failed
