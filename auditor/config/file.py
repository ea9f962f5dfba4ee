"""The configuration file: ``[tool.decnet-audit]`` in ``pyproject.toml`` or a
``.decnet-audit.toml`` (the same keys at the top level), or ``--config PATH``.

Without ``--config`` the file is looked up from the working directory up to
the filesystem root; in each directory ``.decnet-audit.toml`` wins over a
``pyproject.toml``, and a ``pyproject.toml`` without ``[tool.decnet-audit]``
is passed over. The first file found is the only one read. Options given on
the command line replace the file's value for that option.

Keys::

    select = ["json-only", "DA003"]      # rule ids or codes
    ignore = ["foreign-host-row"]
    fail-on = ["docker-mismatch"]        # as --fail-on
    baseline = "decnet-audit-baseline.toml"   # relative to this file

    [rules.stale-observation]            # rule options (see config/options.py)
    max-age-minutes = 30

    [[waivers]]
    rule = "docker-mismatch"
    decky = "decky-0*"
    field = "state"                      # optional
    reason = "RDP image rebuilt weekly"  # required
    expires = 2027-01-31                 # optional: applies through that day
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..rule import Rule
from .options import coerce, configure, option_name, options_of
from .selection import fail_on_rules, select_rules, unknown_rule
from .toml import ConfigError, TomlFile
from .waivers import Waiver, parse_waivers

DOTFILE = ".decnet-audit.toml"
PYPROJECT = "pyproject.toml"
SECTION = ("tool", "decnet-audit")
KEYS = ("select", "ignore", "fail-on", "baseline", "rules", "waivers")


@dataclass
class Config:
    """A parsed config file (or none: every field empty)."""

    path: Path | None = None
    select: list[str] | None = None  # None: not set in the file
    ignore: list[str] | None = None
    fail_on: list[str] | None = None
    baseline: Path | None = None
    waivers: list[Waiver] = field(default_factory=list)
    # rule token -> (option key -> (value, line)), with the table's line
    rule_options: dict[str, tuple[dict[str, tuple[Any, int]], int]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # top-level key -> line

    def where(self, key: str) -> str:
        return f"{self.path}:{self.lines.get(key, 1)}"

    def resolve(self, rules: list[Rule]) -> list[Rule]:
        """Check every rule the file names against the loaded rules (errors
        name the line), turn waiver rule names into ids, and return the rules
        with their options applied (a new list; ``rules`` is left as it is)."""
        rules = list(rules)
        for key, tokens in (("select", self.select), ("ignore", self.ignore),
                            ("fail-on", self.fail_on)):
            for token in tokens or ():
                try:
                    if key == "fail-on":  # may be a severity too
                        fail_on_rules(rules, [token])
                    else:
                        select_rules(rules, [token], [])
                except UsageError as exc:
                    raise ConfigError(f"{self.where(key)}: {key}: {exc}") from None
        self.waivers = [
            replace(w, rule=rule_by_name(rules, w.rule, w.where).id) for w in self.waivers
        ]
        for token, (values, line) in self.rule_options.items():
            rule = rule_by_name(rules, token, f"{self.path}:{line}")
            known = options_of(type(rule))
            chosen = {}
            for key, (value, key_line) in values.items():
                name = option_name(key)
                if name not in known:
                    have = ", ".join(k.replace("_", "-") for k in known) or "none"
                    raise ConfigError(f"{self.path}:{key_line}: rule {rule.id} has no option "
                                      f"{key!r} (its options: {have})")
                try:
                    chosen[name] = coerce(known[name], value)
                except ValueError as exc:
                    raise ConfigError(f"{self.path}:{key_line}: rules.{rule.id}.{key}: {exc}, "
                                      f"got {value!r}") from None
            try:
                rules[rules.index(rule)] = configure(rule, chosen)
            except ValueError as exc:
                raise ConfigError(f"{self.path}:{line}: rules.{rule.id}: {exc}") from None
        return rules


def rule_by_name(rules: list[Rule], token: str, where: str) -> Rule:
    """Exactly one rule, by id or full code (case-insensitive)."""
    for r in rules:
        if token.lower() == r.id or token.upper() == r.code:
            return r
    raise ConfigError(str(unknown_rule(rules, token, where)))


# -- finding and reading the file -------------------------------------------------


def find_config(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        dotfile = directory / DOTFILE
        if dotfile.is_file():
            return dotfile
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and _mentions_us(pyproject):
            return pyproject
    return None


def _mentions_us(pyproject: Path) -> bool:
    # A cheap look before parsing, so that an unrelated broken pyproject.toml
    # further up never stops an audit; a file that has our table is parsed
    # (and its errors reported) by load_config.
    try:
        text = pyproject.read_text("utf-8", errors="replace")
    except OSError:
        return False
    if "decnet-audit" not in text:
        return False
    try:
        doc = TomlFile.load(pyproject)
    except ConfigError:
        return True
    return isinstance(doc.data.get("tool"), dict) and "decnet-audit" in doc.data["tool"]


def load_config(path: Path | None = None, *, cwd: Path | None = None) -> Config:
    """``path`` if given (it must exist), else the file found from ``cwd`` up."""
    if path is None:
        start = (cwd or Path.cwd()).resolve()
        path = find_config(start)
        if path is None:
            return Config()
        here = Path.cwd().resolve()
        if path.is_relative_to(here):  # shown in messages: keep it short
            path = path.relative_to(here)
    elif not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    doc = TomlFile.load(path)
    if path.name == PYPROJECT:
        table = SECTION
        data = doc.data.get("tool", {}).get("decnet-audit", {})
    else:
        table = ()
        data = doc.data
    return parse_config(doc, table, data)


def parse_config(doc: TomlFile, table: tuple[str, ...], data: object) -> Config:
    cfg = Config(path=doc.path)
    if not isinstance(data, dict):
        raise doc.error(doc.table_line(table), "[tool.decnet-audit] must be a table")
    for key in data:
        line = doc.key_line(table, key) if key not in ("rules", "waivers") else \
            _subtable_line(doc, table, key)
        cfg.lines[key] = line
        if key not in KEYS:
            raise doc.error(line, f"unknown key {key!r} (known: {', '.join(KEYS)})")
    for key in ("select", "ignore", "fail-on"):
        if key in data:
            setattr(cfg, key.replace("-", "_"), _rule_list(doc, cfg.lines[key], key, data[key]))
    if "baseline" in data:
        value = data["baseline"]
        if not isinstance(value, str) or not value.strip():
            raise doc.error(cfg.lines["baseline"], f"baseline must be a path, got {value!r}")
        cfg.baseline = doc.path.parent / value
    if "rules" in data:
        cfg.rule_options = _rule_tables(doc, (*table, "rules"), data["rules"])
    if "waivers" in data:
        cfg.waivers = parse_waivers(doc, (*table, "waivers"), data["waivers"])
    return cfg


def _subtable_line(doc: TomlFile, table: tuple[str, ...], key: str) -> int:
    line = doc.table_line((*table, key))
    return line if any(p[: len(table) + 1] == (*table, key) for _, p, _ in doc.headers) \
        else doc.key_line(table, key)


def _rule_list(doc: TomlFile, line: int, key: str, value: object) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise doc.error(line, f"{key} must be a list of rule ids or codes, got {value!r}")
    return [t.strip() for v in value for t in v.split(",") if t.strip()]


def _rule_tables(doc: TomlFile, table: tuple[str, ...], value: object):
    if not isinstance(value, dict):
        raise doc.error(doc.table_line(table), "rules must be a table of rule tables, "
                                               "e.g. [tool.decnet-audit.rules.<rule-id>]")
    out = {}
    for token, options in value.items():
        line = doc.table_line((*table, token))
        if not isinstance(options, dict):
            raise doc.error(doc.key_line(table, token),
                            f"rules.{token} must be a table of options")
        out[token] = ({k: (v, doc.key_line((*table, token), k)) for k, v in options.items()},
                      line)
    return out
