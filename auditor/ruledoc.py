"""``decnet-audit rule ID``: one rule's documentation, as ``ruff rule`` prints it."""

from __future__ import annotations

import sys
from typing import TextIO

from .config.options import options_of
from .errors import UsageError
from .rule import Rule
from .usage import Parser, did_you_mean

_FIX = {"safe": "safe: applied by --fix",
        "unsafe": "unsafe: applied only by --fix --unsafe-fixes",
        None: "none: report only"}


def build_parser() -> Parser:
    p = Parser(prog="decnet-audit rule",
               description="Print the documentation of one rule (by id or code).")
    p.add_argument("rule", metavar="ID", nargs="+",
                   help="a rule id or code, e.g. json-only or DA001")
    return p


def find_rule(rules: list[Rule], token: str) -> Rule:
    for r in rules:
        if token.lower() == r.id or token.upper() == r.code:
            return r
    names = [r.id for r in rules] + [r.code for r in rules]
    raise UsageError(f"unknown rule {token!r}{did_you_mean(token, names)} "
                     f"(decnet-audit --list-rules lists them)")


def describe(rule: Rule) -> str:
    info = rule.info()
    title = f"{info.id} ({info.code})"
    lines = [title, "=" * len(title), ""]
    body = info.doc.splitlines()
    lines += body[:1] + [""]
    lines.append(f"severity:  {info.severity}")
    lines.append(f"fix:       {_FIX.get(info.fix_safety, info.fix_safety)}")
    lines.append(f"reads:     {', '.join(info.needs) or 'nothing'}"
                 + (f" (its fix also needs {', '.join(info.fix_needs)})" if info.fix_needs else ""))
    options = options_of(type(rule))
    if options:
        lines.append("options:   " + ", ".join(
            f"{k.replace('_', '-')} = {v!r}" for k, v in options.items())
            + f"   ([rules.{info.id}] in the config file)")
    rest = "\n".join(body[1:]).strip("\n")
    if rest:
        lines += ["", rest]
    return "\n".join(lines) + "\n"


def main(argv: list[str], rules: list[Rule], out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    chosen = [find_rule(rules, t) for t in args.rule]
    (out or sys.stdout).write("\n".join(describe(r) for r in chosen))
    return 0
