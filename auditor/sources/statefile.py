"""Reading ``decnet-state.json`` as DECNET writes it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from .. import nesting
from ..decnet import as_decnet_reads
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


def read(path: Path) -> tuple[tuple[list[Decky], str | None] | None, SourceStatus]:
    """The source as the engine reads it: (the deckies, the ``compose_path``),
    or None when unreadable; and what came of it. A missing file is an empty
    fleet, not an error."""
    try:
        found = read_deployment(path)
    except SourceError as exc:
        return None, SourceStatus(STATE, False, str(path), str(exc))
    if found is None:
        # Read, and not there: an empty fleet, which no report may show as "ok".
        return ([], None), SourceStatus(STATE, True, str(path),
                                        "file not found: nothing deployed (empty fleet)",
                                        missing=True)
    return found, SourceStatus(STATE, True, str(path), f"{len(found[0])} deckies")


def read_state(path: Path) -> list[Decky] | None:
    """The deckies in the file, or None when it does not exist (DECNET reads a
    missing file as "nothing deployed")."""
    found = read_deployment(path)
    return None if found is None else found[0]


def read_deployment(path: Path) -> tuple[list[Decky], str | None] | None:
    """The deckies and the ``compose_path`` of the file, or None when it does
    not exist."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(raw, parse_constant=_non_finite, parse_float=_finite_float)
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
    return parse_state(doc), compose_path_of(doc)


def compose_path_of(doc: object) -> str | None:
    """The payload's ``compose_path`` (a string), or None without one."""
    value = doc.get("compose_path") if isinstance(doc, dict) else None
    return value if isinstance(value, str) and value else None


class Deckies(list):
    """The state file's entries, with the fleet-wide settings reports need."""

    subnet: str | None = None  # config.subnet: the LAN the deckies' IPs are on
    mode: str | None = None  # config.mode: "unihost" or "swarm"


def parse_state(doc: object) -> list[Decky]:
    config = _expect(doc, dict, "the top level").get("config")
    config = _expect(config, dict, "config")
    deckies = _expect(config.get("deckies", []), list, "config.deckies")
    out, names = Deckies(), set()
    subnet, mode = config.get("subnet"), config.get("mode")
    out.subnet = subnet if isinstance(subnet, str) else None
    out.mode = mode if isinstance(mode, str) else None
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
        out.append(Decky(name, ip, tuple(services), host, as_decnet_reads(entry)))
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


def deployment_copy(text: str | None) -> tuple[dict[str, Decky] | None, str]:
    """The deckies, by name, of the state table's ``deployment`` value (the
    state file's payload, as DECNET copies it there), and a few words for the
    header. A copy that cannot be read is said, never an error: it is
    DECNET's second record, not the one the other rules need."""
    if text is None:
        return None, ""  # no table, or no key: nothing to say
    if not isinstance(text, str | bytes) or nesting.too_deep(text):
        return None, "the state table's deployment copy is unreadable: not text DECNET writes"
    try:
        doc = json.loads(text, parse_constant=_non_finite, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        return None, f"the state table's deployment copy is not JSON ({str(exc)[:80]})"
    if doc is None:
        return None, "the state table's deployment copy is null (torn down by the API)"
    try:
        deckies = parse_state(doc)
    except SourceError as exc:
        return None, f"the state table's deployment copy is unreadable: {exc}"
    return {d.name: d for d in deckies}, f"state table's deployment copy: {len(deckies)} deckies"


def _non_finite(_token: str) -> None:
    """``parse_constant``: Python reads NaN and Infinity, and DECNET's
    ``model_dump(mode="json")`` writes them as null (pydantic's default), so
    they are null to the auditor too."""
    return None


def _finite_float(token: str) -> float | None:
    """``parse_float``: a number too large for a float (``1e999``) is
    Infinity to Python, and so null, as above."""
    value = float(token)
    return value if value - value == 0.0 else None  # inf - inf and nan - nan are nan
