"""``--json PATH``: the machine-readable report (schema version 2)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from decnet_audit.hookspecs import hookimpl
from decnet_audit.inventory import inventory
from decnet_audit.model import AuditResult
from decnet_audit.outcome import summary
from decnet_audit.reporter import Reporter
from decnet_audit.text import visible

# 2: the host's role, the rules that do not apply here, each check's
# "crashed" (the rule raised), and the host's inventory (what it observed, so
# that reports join without reading hosts).
SCHEMA_VERSION = 2


def _clean(value):
    # Undecodable bytes survive as lone surrogates, which strict JSON readers
    # reject; show them as \xNN escapes instead. Control characters are
    # escaped by json.dumps itself.
    if isinstance(value, str):
        return visible(value, keep_newlines=True) if _has_surrogate(value) else value
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _has_surrogate(s: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in s)


def as_dict(result: AuditResult) -> dict:
    return _clean(_document(result))


def _document(result: AuditResult, lazy: bool = False) -> dict:
    """The report as data. ``lazy``: checks as a generator, so that a large
    fleet's tens of thousands of check objects are never all built at once."""
    if lazy:
        checks = map(check_line, result.checks)
    else:
        checks = [{"rule": c.rule, "decky": c.decky, "outcome": c.outcome, "error": c.error,
                   "crashed": c.crashed} for c in result.checks]
    severity = {r.id: r.severity for r in result.rules}
    fleet = result.fleet
    doc = {
        "version": SCHEMA_VERSION,
        "host_uuid": result.host_uuid,
        "hostname": result.hostname,
        "role": fleet.role if fleet is not None else ("fleet" if result.hosts else None),
        "started_at": result.started_at,
        "sources": {
            name: {"status": "ok" if s.ok else "error", "where": s.where, "detail": s.detail,
                   "missing": s.missing}
            for name, s in result.sources.items()
        },
        "rules": [
            {"id": r.id, "code": r.code, "summary": r.summary, "fixable": r.fixable,
             "fix_safety": r.fix_safety, "severity": r.severity}
            for r in result.rules
        ],
        "checks": checks,
        "findings": [
            {
                "rule": f.rule, "code": f.code, "severity": severity.get(f.rule, "medium"),
                "decky": f.decky, "host_uuid": f.host_uuid,
                "message": f.message, "field": f.field,
                "expected": f.expected, "actual": f.actual,
                "fixable": f.fixable, "fixed": f.fixed,
                "fix_status": f.fix_status, "fix_detail": f.fix_detail,
                "waived": f.waived, "waiver_reason": f.waiver_reason,
            }
            for f in result.findings
        ],
        "waivers": [w.as_dict() for w in result.waivers],
        "not_applicable": [{"rule": r, "reason": why}
                           for r, why in result.not_applicable.items()],
        "summary": summary(result),
    }
    if fleet is not None:
        doc["inventory"] = Section(inventory(fleet))
    if result.hosts is not None:
        doc["hosts"] = result.hosts
    return doc


class Section(dict):
    """An object of the report written key by key, its lists one item a line
    (an inventory holds one entry per decky: json's C encoder then writes it)."""


# How json.dumps (ensure_ascii) writes a surrogate code point. It also writes
# a character beyond U+FFFF as a surrogate pair; that only costs a second pass.
_ESCAPED_SURROGATE = re.compile(r"\\ud[89a-f][0-9a-f]{2}")
_LINE = json.JSONEncoder(default=str)


class Encoded(str):
    """A value already written as JSON text: dumps() copies it as it is."""


_STR = json.encoder.encode_basestring_ascii  # how json.dumps writes a str


def check_line(c) -> Encoded:
    """One check as ``json.dumps`` would write it, with no dict to build and
    no encoder to set up: there is one per rule and decky."""
    if type(c.rule) is type(c.decky) is type(c.outcome) is str and (
            c.error is None or type(c.error) is str):
        error = "null" if c.error is None else _STR(c.error)
        crashed = "true" if c.crashed else "false"
        return Encoded(f'{{"rule": {_STR(c.rule)}, "decky": {_STR(c.decky)}, '
                       f'"outcome": {_STR(c.outcome)}, "error": {error}, "crashed": {crashed}}}')
    return Encoded(_LINE.encode({"rule": c.rule, "decky": c.decky, "outcome": c.outcome,
                                 "error": c.error, "crashed": bool(c.crashed)}))


def dumps(doc: dict) -> str:
    """The report's text: ``doc`` indented like ``json.dumps(indent=2)``,
    except that each element of a top-level list (or iterator) is written on
    one line. A fleet of 5,000 deckies makes tens of thousands of checks; json
    only uses its C encoder without ``indent``, and one line per check keeps
    the file greppable."""
    pieces: list[str] = []
    _object(doc, "\n", pieces)
    pieces.append("\n")
    return "".join(pieces)


def _object(doc: dict, margin: str, pieces: list[str]) -> None:
    inner = margin + "  "
    pieces.append("{")
    first = True
    for key, value in doc.items():
        pieces.append(("" if first else ",") + inner + json.dumps(key) + ": ")
        first = False
        if isinstance(value, Section):
            _object(value, inner, pieces)
        elif isinstance(value, list | Iterator):
            empty = True
            for item in value:
                pieces.append("[" + inner + "  " if empty else "," + inner + "  ")
                pieces.append(item if type(item) is Encoded else _LINE.encode(item))
                empty = False
            pieces.append("[]" if empty else inner + "]")
        else:
            pieces.append(json.dumps(value, indent=2, default=str).replace("\n", inner))
    pieces.append("}" if first else margin + "}")


class JsonReporter(Reporter):
    name = "JSON"
    option = "--json"
    help = "write the machine-readable JSON report to PATH"

    def render(self, result: AuditResult) -> bytes:
        text = dumps(_document(result, lazy=True))
        if _ESCAPED_SURROGATE.search(text):  # rare: only then walk every string
            text = dumps(_clean(_document(result)))
        return text.encode("utf-8")


@hookimpl
def decnet_audit_reporters():
    return [JsonReporter]
