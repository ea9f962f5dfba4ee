"""The one set of builders for hand-made fleets (records as the sources would
read them), for the fast tests that need no Docker, database or file.

Defaults mirror each other: ``decky("a")`` and ``row("a")`` agree on every
field, and ``labelled("a", "ssh")`` is the container DECNET would run for
them, so a test states only the difference it is about.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from decnet_audit.decnet import DECKY_LABEL, SERVICE_LABEL, service_container_name
from decnet_audit.model import DB, DOCKER, STATE, Container, Decky, Fleet, Row, SourceStatus
from kit.fleet import COMPOSE_FILE, compose_labels, decky_config, default_ip

DEFAULT = object()  # "the default": None is a value (a NULL column, a null host_uuid)
T0 = "2026-01-01 00:00:00.000000"  # updated_at of every built row, as SQLite keeps it


def decky(name: str, services: Iterable[str] = ("ssh",), *, ip=DEFAULT, host: str | None = None,
          **config) -> Decky:
    """A state-file entry; ``config`` overrides DeckyConfig fields."""
    services = tuple(services)
    cfg = decky_config(name, services, ip=None if ip is DEFAULT else ip, host_uuid=host, **config)
    return Decky(name, cfg["ip"], services, host, cfg)


def row(name: str, state: str = "running", *, host: str = "local",
        services: Iterable[str] | str = ("ssh",), ip=DEFAULT, config: dict | None = None,
        raw_config: str | None = None, **columns) -> Row:
    """A ``fleet_deckies`` row; ``services`` as names or as the raw JSON text,
    ``config`` as a dict (dumped) or ``raw_config`` as text; NULL by default."""
    text = services if isinstance(services, str) else json.dumps(list(services))
    cfg = raw_config if raw_config is not None else (
        json.dumps(config) if config is not None else None)
    columns.setdefault("updated_at", T0)
    return Row(host, name, text, cfg, default_ip(name) if ip is DEFAULT else ip, state,
               **columns)


def labelled(decky: str, service: str, state: str = "running", *, name: str | None = None,
             compose_file: str | None = COMPOSE_FILE, **labels: str) -> Container:
    """A service container with DECNET's labels, and compose's for
    ``compose_file`` (this fleet's by default; None: started by no compose)."""
    compose = compose_labels(f"{decky}-{service}", compose_file) if compose_file else {}
    return Container(f"id-{decky}-{service}", name or service_container_name(decky, service),
                     state, {"decnet.fleet.service": "true", DECKY_LABEL: decky,
                             SERVICE_LABEL: service, **compose, **labels})


def bare(name: str, state: str = "running") -> Container:
    """A container without labels (a base container, an older deploy, or
    nobody's)."""
    return Container(f"id-{name}", name, state, {})


def fleet(deckies=(), rows=(), containers=(), *, host: str = "local", unread=(),
          enrolled=None, copy=None) -> Fleet:
    """A fleet as observed. A source in ``unread`` (STATE, DB, DOCKER) was not
    read: it is None with a failed status, as the engine leaves it;
    ``containers=None`` is short for DOCKER unread. ``copy``: the state
    table's deployment copy (deckies). The compose file is kit.fleet's."""
    unread = {*unread, *((DOCKER,) if containers is None else ())}
    sources = {s: SourceStatus(s, s not in unread, f"<{s}>", "unreadable" if s in unread
                               else "ok") for s in (STATE, DB, DOCKER)}
    return Fleet(host,
                 None if STATE in unread else list(deckies),
                 None if DB in unread else list(rows),
                 None if DOCKER in unread else list(containers),
                 enrolled_hosts=None if enrolled is None else frozenset(enrolled),
                 sources=sources, compose_path=COMPOSE_FILE,
                 deployment=None if copy is None else {d.name: d for d in copy})
