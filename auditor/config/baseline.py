"""Baselines: today's findings recorded as waivers, so that a new install
fails only on drift that appears after it.

A baseline file holds ``[[waivers]]`` tables only (reason ``"baseline"``,
``added`` = the day it was written), so it is also a valid
``.decnet-audit.toml``. It is read with ``--baseline PATH`` or
``baseline = "PATH"`` in the config file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..model import Finding
from .toml import ConfigError, TomlFile
from .waivers import Waiver, parse_waivers

REASON = "baseline"


def read_baseline(path: Path) -> list[Waiver]:
    if not path.is_file():
        raise ConfigError(f"{path}: baseline file not found")
    doc = TomlFile.load(path)
    for key in doc.data:
        if key != "waivers":
            raise doc.error(doc.key_line((), key),
                            f"a baseline holds only [[waivers]] tables, not {key!r}")
    return parse_waivers(doc, ("waivers",), doc.data.get("waivers", []))


def exact_pattern(name: str) -> str:
    """An fnmatch pattern matching exactly ``name``. A character TOML cannot
    hold (an undecodable byte, kept as a lone surrogate) becomes ``?``."""
    out = []
    for ch in name:
        if ch in "[*?":
            out.append(f"[{ch}]")
        elif "\ud800" <= ch <= "\udfff":
            out.append("?")
        else:
            out.append(ch)
    return "".join(out)


def toml_string(text: str) -> str:
    """A TOML basic string; control characters as \\uXXXX escapes."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class Recorder:
    """Turns every finding no waiver covers into a baseline waiver (one per
    rule, decky and field) and marks the finding waived by it."""

    def __init__(self, path: Path, today: date):
        self.path = path
        self.today = today
        self.waivers: dict[tuple[str, str, str | None], Waiver] = {}
        self.matched: dict[tuple[str, str, str | None], int] = {}

    def record(self, findings: list[Finding]) -> None:
        for f in findings:
            key = (f.rule, exact_pattern(f.decky), f.field)
            if key not in self.waivers:
                self.waivers[key] = Waiver(rule=f.rule, decky=key[1], field=f.field,
                                           reason=REASON, added=self.today,
                                           where=str(self.path))
            self.matched[key] = self.matched.get(key, 0) + 1
            f.waived = True
            f.waiver_reason = REASON

    def render(self) -> str:
        lines = [
            f"# decnet-audit baseline: the drift found on {self.today.isoformat()}, waived.",
            "# Read with `decnet-audit --baseline PATH` or `baseline = \"PATH\"` in the config;",
            "# delete a waiver to see its drift fail again.",
        ]
        for key in sorted(self.waivers, key=lambda k: (k[0], k[1], k[2] or "")):
            w = self.waivers[key]
            lines += ["", "[[waivers]]", f"rule = {toml_string(w.rule)}",
                      f"decky = {toml_string(w.decky)}"]
            if w.field is not None:
                lines.append(f"field = {toml_string(w.field)}")
            lines += [f"reason = {toml_string(w.reason)}", f"added = {self.today.isoformat()}"]
        return "\n".join(lines) + "\n"
