"""DECNET's own settings, read as DECNET reads them, without DECNET.

DECNET takes a variable from, strongest first: the process environment;
``/etc/decnet/decnet.ini`` (``$DECNET_CONFIG`` names another file; it only
seeds unset variables, ``config_ini.py``); then ``<root>/.env.local``,
``<root>/.env``, ``./.env.local`` and ``./.env`` (``env.py``, python-dotenv,
never overriding). Only the variables the auditor needs are looked at; the
database password is kept only to build the URL, and is never shown.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_INI = Path("/etc/decnet/decnet.ini")  # config_ini.py: DEFAULT_CONFIG_PATH
SECRET = "DECNET_DB_PASSWORD"
WANTED = ("DECNET_DB_TYPE", "DECNET_DB_URL", "DECNET_DB_HOST", "DECNET_DB_PORT",
          "DECNET_DB_NAME", "DECNET_DB_USER", SECRET, "DECNET_HOST_UUID")
# config_ini.py's [database] map; the password is deliberately not in it.
_INI_DATABASE = {"type": "DECNET_DB_TYPE", "url": "DECNET_DB_URL", "host": "DECNET_DB_HOST",
                 "port": "DECNET_DB_PORT", "name": "DECNET_DB_NAME", "user": "DECNET_DB_USER"}
ENVIRONMENT = "environment"


@dataclass
class Settings:
    """The variables found, each with the place it came from."""

    values: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    read: list[str] = field(default_factory=list)  # files that were read
    problems: list[str] = field(default_factory=list)  # unreadable files, one line each

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def seed(self, name: str, value: str, origin: str) -> None:
        # DECNET's setdefault: the first place that defines a variable wins,
        # even with an empty value.
        if name in WANTED and name not in self.values:
            self.values[name] = value
            self.origin[name] = origin

    def describe(self) -> list[str]:
        """``NAME=value (origin)`` per variable found; the password masked."""
        out = []
        for name in WANTED:
            if name in self.values:
                value = "***" if name == SECRET and self.values[name] else self.values[name]
                if name == "DECNET_DB_URL":
                    value = _mask_url(value)
                out.append(f"{name}={value} ({self.origin[name]})")
        return out


def read_settings(env: Mapping[str, str], root: Path | None, *, ini: Path | None = None,
                  cwd: Path | None = None) -> Settings:
    s = Settings()
    for name in WANTED:
        if name in env:
            s.seed(name, env[name], ENVIRONMENT)
    ini = ini or (Path(env["DECNET_CONFIG"]) if env.get("DECNET_CONFIG") else DEFAULT_INI)
    _read_ini(s, ini, env)
    cwd = cwd or Path.cwd()
    files = [root / ".env.local", root / ".env"] if root is not None else []
    for path in dict.fromkeys([*files, cwd / ".env.local", cwd / ".env"]):
        _read_dotenv(s, path)
    return s


def _read_ini(s: Settings, path: Path, env: Mapping[str, str]) -> None:
    if not path.is_file():
        return
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"), interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error, UnicodeDecodeError) as exc:
        s.problems.append(f"{path}: not read: {_one_line(exc)}")
        return
    s.read.append(str(path))
    # The role section ([agent] or [master]) follows the mode, from the
    # environment first, then [decnet] mode, as config_ini.py picks it.
    mode = env.get("DECNET_MODE") or parser.get("decnet", "mode", fallback="master")
    role = mode.strip().lower()
    if parser.has_section(role) and parser.has_option(role, "host-uuid"):
        s.seed("DECNET_HOST_UUID", parser.get(role, "host-uuid"), f"{path} [{role}] host-uuid")
    if parser.has_section("database"):
        for key, name in _INI_DATABASE.items():
            if parser.has_option("database", key):
                s.seed(name, parser.get("database", key), f"{path} [database] {key}")


_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")


def _read_dotenv(s: Settings, path: Path) -> None:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as exc:
        s.problems.append(f"{path}: not read: {_one_line(exc)}")
        return
    s.read.append(str(path))
    for line in text.splitlines():
        m = _LINE.match(line)
        # Only the variables we need are parsed at all.
        if m is None or m.group(1) not in WANTED or m.group(1) in s.values:
            continue
        s.seed(m.group(1), _dotenv_value(m.group(2), s.values), str(path))


def _dotenv_value(raw: str, known: Mapping[str, str]) -> str:
    raw = raw.strip()
    if raw[:1] == "'":
        end = raw.find("'", 1)
        return raw[1:end] if end > 0 else raw[1:]
    if raw[:1] == '"':
        out, i = [], 1
        while i < len(raw) and raw[i] != '"':
            if raw[i] == "\\" and i + 1 < len(raw):
                i += 1
                out.append({"n": "\n", "t": "\t", "r": "\r"}.get(raw[i], raw[i]))
            else:
                out.append(raw[i])
            i += 1
        return _expand("".join(out), known)
    # Unquoted: a " #" starts a comment, as python-dotenv reads it.
    value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
    return _expand(value, known)


def _expand(value: str, known: Mapping[str, str]) -> str:
    # python-dotenv's ${NAME} and ${NAME:-default}, from what is known so far.
    def sub(m: re.Match) -> str:
        return known.get(m.group(1)) or (m.group(2) or "")
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}", sub, value)


def _mask_url(url: str) -> str:
    return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", url)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
