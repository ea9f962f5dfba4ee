"""Reading ``decnet-state.json`` as DECNET writes it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from .. import nesting
from ..errors import SourceError
from ..model import STATE, Decky, SourceStatus

DEFAULT_PATHS = ("decnet-state.json", "/var/lib/decnet/decnet-state.json")


def resolve_state_path(arg: str | None, env: Mapping[str, str]) -> Path:
    if arg:
        return Path(arg)
    if env.get("DECNET_STATE_FILE"):
        return Path(env["DECNET_STATE_FILE"])
    for candidate in DEFAULT_PATHS:
        if Path(candidate).exists():
            return Path(candidate)
    return Path(DEFAULT_PATHS[0])


def read(path: Path) -> tuple[list[Decky] | None, SourceStatus]:
    """The source as the engine reads it: the deckies (None when unreadable)
    and what came of it. A missing file is an empty fleet, not an error."""
    try:
        deckies = read_state(path)
    except SourceError as exc:
        return None, SourceStatus(STATE, False, str(path), str(exc))
    if deckies is None:
        # Read, and not there: an empty fleet, which no report may show as "ok".
        return [], SourceStatus(STATE, True, str(path),
                                "file not found: nothing deployed (empty fleet)", missing=True)
    return deckies, SourceStatus(STATE, True, str(path), f"{len(deckies)} deckies")


def read_state(path: Path) -> list[Decky] | None:
    """The deckies in the file, or None when it does not exist (DECNET reads a
    missing file as "nothing deployed")."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(raw)
    except RecursionError:
        raise SourceError(nesting.message()) from None
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    if nesting.too_deep(raw):
        raise SourceError(nesting.message())
    return parse_state(doc)


def parse_state(doc: object) -> list[Decky]:
    config = _expect(doc, dict, "the top level").get("config")
    config = _expect(config, dict, "config")
    deckies = _expect(config.get("deckies", []), list, "config.deckies")
    out, names = [], set()
    for i, entry in enumerate(deckies):
        # The usual entry passes these cheap checks; anything else is looked
        # at again by _check_entry, which says exactly what is wrong.
        if type(entry) is not dict:
            _check_entry(i, entry, names)
        name, services = entry.get("name"), entry.get("services", [])
        ip, host = entry.get("ip"), entry.get("host_uuid")
        if (type(name) is not str or not name or name in names or type(services) is not list
                or not {*map(type, services)} <= _JUST_STR
                or (ip is not None and type(ip) is not str)
                or (host is not None and type(host) is not str)):
            _check_entry(i, entry, names)
        names.add(name)
        out.append(Decky(name, ip, tuple(services), host, entry))
    return out


_JUST_STR = {str}


def _check_entry(i: int, entry: object, names: set[str]) -> None:
    """Raise what is wrong with deckies[i], if anything is."""
    at = f"config.deckies[{i}]"
    entry = _expect(entry, dict, at)
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise SourceError(f"{at}.name: expected a non-empty string, got {name!r}")
    if name in names:
        raise SourceError(f"{at}.name: decky {name!r} is listed twice")
    services = entry.get("services", [])
    if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
        raise SourceError(f"{at}.services: expected a list of service names")
    for key in ("ip", "host_uuid"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise SourceError(f"{at}.{key}: expected a string or null")


def _expect(value, kind, at: str):
    if not isinstance(value, kind):
        want = {dict: "an object", list: "a list"}[kind]
        raise SourceError(f"{at}: expected {want}, got {type(value).__name__}")
    return value
