"""Reading a TOML file so that every later complaint can name its line.

``tomllib`` reports line numbers for syntax errors only; a schema error found
after parsing (an unknown key, a missing reason) is located here by scanning
the text for the table header or key it concerns.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ..errors import UsageError

_HEADER = re.compile(r"^\s*(\[\[?)\s*(?P<key>[^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*(?P<key>"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*[.=]""")
_TOML_POS = re.compile(r"\(at line (\d+), column \d+\)")


class ConfigError(UsageError):
    """A configuration or baseline file is wrong; the text is ``file:line: why``."""


def split_key(dotted: str) -> tuple[str, ...]:
    """``tool."decnet-audit".waivers`` -> ``("tool", "decnet-audit", "waivers")``."""
    parts, buf, quote = [], "", None
    for ch in dotted:
        if quote:
            if ch == quote:
                quote = None
            else:
                buf += ch
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append(buf.strip())
            buf = ""
        else:
            buf += ch
    parts.append(buf.strip())
    return tuple(parts)


class TomlFile:
    """A parsed TOML document and the text it came from."""

    def __init__(self, path: Path, text: str, data: dict):
        self.path = path
        self.data = data
        self.lines = text.splitlines()
        # (line number, table path, is an array-of-tables entry) per header
        self.headers: list[tuple[int, tuple[str, ...], bool]] = []
        for no, line in enumerate(self.lines, 1):
            m = _HEADER.match(line)
            if m:
                self.headers.append((no, split_key(m["key"]), line.lstrip().startswith("[[")))

    @classmethod
    def load(cls, path: Path) -> TomlFile:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise ConfigError(f"{path}:{line}: not UTF-8 text") from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = _TOML_POS.search(str(exc))
            msg = _TOML_POS.sub("", str(exc)).strip()
            raise ConfigError(f"{path}:{m[1] if m else 1}: invalid TOML: {msg}") from exc
        except RecursionError:  # tomllib recurses once per nested array or table
            raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
        return cls(path, text, data)

    # -- locating --------------------------------------------------------------

    def table_line(self, table: tuple[str, ...], nth: int = 0) -> int:
        """Line of the header of ``table`` (the ``nth`` one for an array of
        tables), else of its closest enclosing header, else 1."""
        for depth in range(len(table), 0, -1):
            hits = [no for no, path, _ in self.headers if path == table[:depth]]
            if hits:
                return hits[min(nth, len(hits) - 1)] if depth == len(table) else hits[0]
        return 1

    def key_line(self, table: tuple[str, ...], key: str, nth: int = 0) -> int:
        """Line where ``key`` is set inside ``table`` (or the table's line)."""
        start = self.table_line(table, nth) if table else 0
        if table and start == 1 and not any(p == table for _, p, _ in self.headers):
            # The table has no header of its own (inline or dotted); search
            # from its closest enclosing header.
            start = self.table_line(table[:-1]) if len(table) > 1 else 0
        for no in range(start + 1, len(self.lines) + 1):
            line = self.lines[no - 1]
            if _HEADER.match(line):
                break
            m = _KEY.match(line)
            if m and m["key"].strip("\"'") == key:
                return no
        return max(start, 1)

    def error(self, line: int, message: str) -> ConfigError:
        return ConfigError(f"{self.path}:{line}: {message}")
