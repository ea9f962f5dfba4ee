"""Choosing what runs: ``--select``/``--ignore`` over rules, ``-k`` over checks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ..errors import UsageError
from ..model import Check
from ..rule import SEVERITIES, Rule
from ..text import visible
from ..usage import did_you_mean


def select_rules(rules: list[Rule], select: Iterable[str], ignore: Iterable[str]) -> list[Rule]:
    """Rules named by id or code (case-insensitive; a code prefix such as
    ``DA00`` names every code it starts). No ``--select`` means all rules."""
    select, ignore = _split(select), _split(ignore)

    def named(token: str) -> set[str]:
        low = token.lower()
        hits = {
            r.id for r in rules
            if low == r.id.lower() or r.code.lower().startswith(low)
        }
        if not hits:
            raise unknown_rule(rules, token)
        return hits

    chosen = set().union(*(named(t) for t in select)) if select else {r.id for r in rules}
    for token in ignore:
        chosen -= named(token)
    return [r for r in rules if r.id in chosen]


def fail_on_rules(rules: list[Rule], tokens: Iterable[str]) -> list[Rule]:
    """``--fail-on``: rule ids or codes as for ``--select``, or a severity
    (``high``, ``medium``, ``low``) meaning every rule of it or worse. A rule
    whose id is a severity word is still named by its id."""
    words = _split(tokens)
    ids = {r.id for r in rules}
    chosen: set[str] = set()
    named = []
    for w in words:
        if w.lower() in SEVERITIES and w.lower() not in ids:
            worst = SEVERITIES[: SEVERITIES.index(w.lower()) + 1]
            chosen |= {r.id for r in rules if r.severity in worst}
        else:
            named.append(w)
    if named:
        chosen |= {r.id for r in select_rules(rules, named, [])}
    return [r for r in rules if r.id in chosen]


def unknown_rule(rules: list[Rule], token: str, where: str = "") -> UsageError:
    """The error for a rule nobody has: the token as typed, the closest id or
    code, and every known rule."""
    names = [r.id for r in rules] + [r.code for r in rules]
    known = ", ".join(f"{r.id} ({r.code})" for r in rules)
    prefix = f"{where}: " if where else ""
    return UsageError(f"{prefix}unknown rule {visible(token)!r}{did_you_mean(token, names)}; "
                      f"known rules: {known}")


def _split(values: Iterable[str]) -> list[str]:
    # Kept as typed: an unknown rule is echoed the way the user wrote it.
    return [t.strip() for v in values or () for t in v.split(",") if t.strip()]


def require_some(option: str, values: list[str]) -> None:
    """``--select ''`` names no rule: a usage error, not "every rule"."""
    if values and not _split(values):
        raise UsageError(f"{option} {values[-1]!r} names no rule; give rule ids or codes "
                         f"(decnet-audit --list-rules lists them)")


_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")
MAX_NESTING = 100  # nested `not`s and parentheses; each costs a frame to parse and to match


def keyword_filter(expr: str | None) -> Callable[[Check], bool]:
    """pytest's ``-k``: ``and``/``or``/``not`` and parentheses over
    case-insensitive substrings of a check's rule id, decky name and
    ``rule::decky`` id."""
    if not expr or not expr.strip():
        return lambda check: True
    shown = expr if len(expr) <= 60 else expr[:57] + "..."
    tokens = _TOKEN.findall(expr)
    pos = 0
    depth = 0

    def deeper():
        nonlocal depth
        depth += 1
        if depth > MAX_NESTING:
            raise UsageError(f"-k: more than {MAX_NESTING} nested 'not's or parentheses")

    def peek():
        return tokens[pos].lower() if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    # A chain of and/or is one flat list: folded into nested closures, a long
    # chain would recurse once per operand when matched.
    def parse_or():
        parts = [parse_and()]
        while peek() == "or":
            take()
            parts.append(parse_and())
        return parts[0] if len(parts) == 1 else lambda names: any(p(names) for p in parts)

    def parse_and():
        parts = [parse_not()]
        while peek() == "and":
            take()
            parts.append(parse_not())
        return parts[0] if len(parts) == 1 else lambda names: all(p(names) for p in parts)

    def parse_not():
        nonlocal depth
        if peek() == "not":
            take()
            deeper()
            inner = parse_not()
            depth -= 1
            return lambda names: not inner(names)
        return parse_atom()

    def parse_atom():
        nonlocal depth
        tok = peek()
        if tok is None:
            raise UsageError(f"-k {shown!r}: expression ends too early")
        if tok == "(":
            take()
            deeper()
            inner = parse_or()
            depth -= 1
            if peek() != ")":
                raise UsageError(f"-k {shown!r}: missing ')'")
            take()
            return inner
        if tok in (")", "and", "or"):
            raise UsageError(f"-k {shown!r}: unexpected {tok!r}")
        word = take().lower()
        return lambda names: any(word in n for n in names)

    matcher = parse_or()
    if pos != len(tokens):
        raise UsageError(f"-k {shown!r}: unexpected {tokens[pos]!r}")
    # The id the console prints, rule::decky, matches too (``-k json-only::decky-04``).
    return lambda check: matcher((check.rule.lower(), check.decky.lower(),
                                  f"{check.rule}::{visible(check.decky)}".lower()))
