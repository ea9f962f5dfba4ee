"""Choosing what runs: ``--select``/``--ignore`` over rules, ``-k`` over checks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ..errors import UsageError
from ..model import Check
from ..rule import Rule


def select_rules(rules: list[Rule], select: Iterable[str], ignore: Iterable[str]) -> list[Rule]:
    """Rules named by id or code (case-insensitive; a code prefix such as
    ``DA00`` names every code it starts). No ``--select`` means all rules."""
    select, ignore = _split(select), _split(ignore)

    def named(token: str) -> set[str]:
        hits = {
            r.id for r in rules
            if token == r.id.lower() or r.code.lower().startswith(token)
        }
        if not hits:
            known = ", ".join(f"{r.id} ({r.code})" for r in rules)
            raise UsageError(f"unknown rule {token!r}; known rules: {known}")
        return hits

    chosen = set().union(*(named(t) for t in select)) if select else {r.id for r in rules}
    for token in ignore:
        chosen -= named(token)
    return [r for r in rules if r.id in chosen]


def _split(values: Iterable[str]) -> list[str]:
    return [t.strip().lower() for v in values or () for t in v.split(",") if t.strip()]


_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")
MAX_NESTING = 100  # nested `not`s and parentheses; each costs a frame to parse and to match


def keyword_filter(expr: str | None) -> Callable[[Check], bool]:
    """pytest's ``-k``: ``and``/``or``/``not`` and parentheses over
    case-insensitive substrings of a check's rule id and decky name."""
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
    return lambda check: matcher((check.rule.lower(), check.decky.lower()))
