"""Reading containers from a live Docker engine or from a saved capture.

A live engine is listed with one raw ``GET /containers/json?all=1`` and no
other API call. The SDK's ``containers.list(all=True)`` inspects every
container, one API call each, which is what makes DECNET's own reconciler
slow on a large host.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from .. import nesting
from ..errors import SourceError
from ..model import DOCKER, Container, SourceStatus
from . import engine_api
from .docker_errors import one_line, reason

DEFAULT_HOST = "unix:///var/run/docker.sock"  # the docker SDK's own default on Linux


def address(base_url: str | None, env: Mapping[str, str]) -> str:
    """The engine a run really tries: --docker-host, else DOCKER_HOST as the
    SDK reads it, else the Docker CLI context the SDK follows, else its
    default socket."""
    if base_url or env.get("DOCKER_HOST"):
        return base_url or env["DOCKER_HOST"]
    context = engine_api.cli_context(env)
    if context == "default":
        return DEFAULT_HOST
    host = engine_api.context_host(env, context)
    return f"{host} (Docker CLI context {context!r})" if host else \
        f"{DEFAULT_HOST} (Docker CLI context {context!r} not found: the SDK's default)"


def read(base_url: str | None, snapshot: Path | None = None
         ) -> tuple[list[Container] | None, SourceStatus]:
    """The source as the engine reads it: the containers of the engine at
    ``base_url`` (None: DOCKER_HOST, else the SDK's default socket), or of a
    saved capture; None when unreadable; and what came of it."""
    where = f"snapshot {snapshot}" if snapshot is not None else \
        mask_url(address(base_url, os.environ))
    try:
        containers = read_snapshot(snapshot) if snapshot is not None else read_engine(base_url)
    except SourceError as exc:
        return None, SourceStatus(DOCKER, False, where, str(exc))
    return containers, SourceStatus(DOCKER, True, where, f"{len(containers)} containers")


def prepare(base_url: str | None) -> bool:
    """Import what reading the engine at ``base_url`` needs now rather than at
    first use (on the reading thread). True: the read imports nothing more."""
    return engine_api.prepare(base_url)


def read_engine(base_url: str | None) -> list[Container]:
    """One API call in all, whatever the fleet's size."""
    try:
        api = engine_api.connect(base_url)
        try:
            status, body = api.get("/containers/json?all=1")
        finally:
            api.close()
    except engine_api.Unreachable as exc:
        raise SourceError(scrub(f"cannot reach the Docker engine: {reason(exc)}",
                                base_url)) from exc
    if status >= 400:
        raise SourceError(f"the Docker engine answered HTTP {status} to the container "
                          f"listing: {one_line(body.decode('utf-8', 'replace'))}")
    # Bytes, then one str: never the SDK's containers(), which would hold the
    # body, its text and every container's parsed JSON at once (85 MB for
    # 20,000 containers).
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"the Docker engine's container listing is not UTF-8: {exc}") from exc
    del body
    return parse_listing(text)


def finished_times(base_url: str | None, ids: list[str]) -> dict[str, str | None]:
    """``State.FinishedAt`` of a few containers, one inspect call each (the
    listing does not carry it). A container that is gone, or an engine that
    no longer answers, gives None: no claim is made from it."""
    out: dict[str, str | None] = dict.fromkeys(ids)
    try:
        api = engine_api.connect(base_url)
    except engine_api.Unreachable:
        return out
    try:
        for cid in ids:
            status, body = api.get(f"/containers/{cid}/json")
            if status == 200:
                state = (json.loads(body) or {}).get("State") or {}
                out[cid] = state.get("FinishedAt") if isinstance(state, dict) else None
    except (engine_api.Unreachable, ValueError, AttributeError):
        pass  # what was read stands; the rest makes no claim
    finally:
        api.close()
    return out


def parse_listing(body: str) -> list[Container]:
    """Containers from the engine's JSON listing. Each becomes a `Container`
    as soon as it is parsed, so what Docker lists with it (network settings,
    mounts, host config) is dropped container by container instead of being
    held for the whole fleet."""
    try:
        listing = json.loads(body, object_hook=_container_or_object)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SourceError(f"the Docker engine's container listing is not JSON: "
                          f"{one_line(exc)}") from exc
    if not isinstance(listing, list):
        raise SourceError("the Docker engine's container listing is not a JSON list")
    out = []
    for c in listing:
        if isinstance(c, dict):
            c = _from_api(c)
        elif not isinstance(c, Container):
            raise SourceError(f"the Docker engine's container listing holds {c!r}")
        out.append(c)
    return out


def _container_or_object(obj: dict):
    # json calls this for every object, innermost first. Of the objects in a
    # listing, only a container has a list of Names (labels hold strings only).
    if isinstance(obj.get("Names"), list) and "Id" in obj:
        return _from_api(obj)
    return obj


_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^@/:]*)(:[^@/]*)?@")


def mask_url(url: str) -> str:
    """A Docker URL with the password of its user part hidden
    (``tcp://ops:***@host:2376``), safe to print or write to a report."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", url, count=1) \
        if "@" in url else url


def scrub(text: str, url: str | None) -> str:
    """``text`` with the password of ``url`` (or of $DOCKER_HOST) replaced."""
    for candidate in (url, os.environ.get("DOCKER_HOST")):
        m = _USERINFO.match(candidate or "")
        if m and m.group(3) and len(m.group(3)) > 1:
            text = text.replace(m.group(3)[1:], "***")
    return text


def _from_api(c: dict) -> Container:
    names = c.get("Names")
    names = names if type(names) is list and names else [""]
    cid, state, labels = c.get("Id") or "", c.get("State") or "", c.get("Labels") or {}
    if type(names[0]) is not str or type(cid) is not str or type(state) is not str \
            or type(labels) is not dict:
        raise SourceError(f"the Docker engine's container listing holds an entry of the wrong "
                          f"shape (Id {one_line(repr(cid))[:80]})")
    return Container(
        id=cid,
        name=names[0].lstrip("/"),
        # A handful of distinct words, one copy each instead of one per container.
        state=sys.intern(state.lower()),
        labels=labels,
    )


def read_snapshot(path: Path) -> list[Container]:
    """Containers from ``docker ps -a --no-trunc --format '{{json .}}'`` (JSON
    lines) or from ``docker inspect`` (a JSON array)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read docker snapshot: {exc}") from exc
    if text.lstrip().startswith("["):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SourceError(f"invalid JSON in docker snapshot: {exc}") from exc
        except RecursionError:
            raise SourceError(f"docker snapshot: {nesting.message()}") from None
        if nesting.too_deep(text):
            raise SourceError(f"docker snapshot: {nesting.message()}")
        if not isinstance(doc, list):
            raise SourceError("not the output of `docker inspect` (not a JSON list)")
        return [_from_inspect(c, i) for i, c in enumerate(doc)]
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            # Each line is its own document: say which line, not "line 1".
            raise SourceError(
                f"invalid JSON in docker snapshot at line {lineno} column {exc.colno}: {exc.msg}"
            ) from exc
        except RecursionError:
            raise SourceError(f"docker snapshot line {lineno}: {nesting.message()}") from None
        out.append(_from_ps(entry, lineno))
    return out


def _from_ps(c: object, lineno: int) -> Container:
    if not isinstance(c, dict) or "Names" not in c:
        raise SourceError(f"line {lineno}: not a line of `docker ps --format '{{{{json .}}}}'`")
    # `docker ps` writes every column as a string; anything else is not its output.
    for key in ("ID", "Names", "State", "Status", "Labels"):
        if c.get(key) is not None and not isinstance(c[key], str):
            raise SourceError(f"docker snapshot line {lineno}: {key} is "
                              f"{type(c[key]).__name__}, not the string `docker ps` writes")
    state = (c.get("State") or "").lower()
    if not state:  # old engines print only the human Status ("Up 2 hours", "Exited (0) ...")
        state = "running" if str(c.get("Status", "")).startswith("Up") else "exited"
    return Container(
        id=c.get("ID") or "",
        name=(c["Names"] or "").split(",")[0].lstrip("/"),
        state=state,
        labels=parse_ps_labels(c.get("Labels") or ""),
    )


def parse_ps_labels(text: str) -> dict[str, str]:
    """``docker ps``'s ``Labels`` column: ``k=v`` pairs joined by commas."""
    labels: dict[str, str] = {}
    last = None
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep:
            last = key.strip()
            labels[last] = value
        elif last is not None:
            # docker joins without escaping: a part with no "=" is the rest of
            # a value that itself held a comma.
            labels[last] += "," + part
    return labels


def _from_inspect(c: object, i: int) -> Container:
    at = f"docker snapshot entry {i}"
    if not isinstance(c, dict) or "Name" not in c:
        raise SourceError(f"{at}: not the output of `docker inspect`")
    state = c.get("State") or {}
    config = c.get("Config") or {}
    if not isinstance(c["Name"] or "", str) or not isinstance(c.get("Id") or "", str):
        raise SourceError(f"{at}: Name and Id must be strings")
    if not isinstance(state, dict | str) or not isinstance(state, str) and \
            not isinstance(state.get("Status") or "", str):
        raise SourceError(f"{at}: State must be an object with a string Status")
    if not isinstance(config, dict):
        raise SourceError(f"{at}: Config is {type(config).__name__}, not an object")
    labels = config.get("Labels") or {}
    if not _string_map(labels):
        raise SourceError(f"{at}: Config.Labels must map strings to strings")
    return Container(
        id=c.get("Id") or "",
        name=(c["Name"] or "").lstrip("/"),
        state=(state.get("Status") or "").lower() if isinstance(state, dict) else state.lower(),
        labels=labels,
        finished_at=state.get("FinishedAt") if isinstance(state, dict) else None,
    )


def _string_map(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items())
