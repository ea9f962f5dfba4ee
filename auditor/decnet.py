"""DECNET's vocabulary: the names, labels and states DECNET writes, and what
they tell about a host. Every such string is spelled here once, so a DECNET
change is a change of this module, not a hunt through the rules.

Facts only (read from DECNET 1.0.0, never imported): see FORMATS.md.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Container, Fleet

LOCAL_HOST = "local"  # DECNET's host_uuid for the unihost mothership
HOST_UUID_ENV = "DECNET_HOST_UUID"

# DECNET's table of deckies: its columns in DECNET's order, and its key.
FLEET_TABLE = "fleet_deckies"
COLUMNS = (
    "host_uuid", "name", "services", "decky_config", "decky_ip", "state",
    "last_error", "compose_hash", "last_seen", "updated_at",
)
KEY = ("host_uuid", "name")
NONKEY = tuple(c for c in COLUMNS if c not in KEY)

# The labels DECNET's composer puts on every service container.
DECKY_LABEL = "decnet.fleet.decky"
SERVICE_LABEL = "decnet.fleet.service_name"

# The labels `docker compose` puts on every container it starts; DECNET's
# deployer runs `docker compose -p decnet -f <compose_path>` (engine/deployer.py).
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"  # the decky's name on its base container
COMPOSE_FILES_LABEL = "com.docker.compose.project.config_files"  # = the state file's compose_path

# fleet_deckies.state as DECNET's reconciler writes it.
RUNNING, DEGRADED, FAILED, TORN_DOWN = "running", "degraded", "failed", "torn_down"

UNPARSEABLE: Any = type("Unparseable", (), {"__repr__": lambda self: "UNPARSEABLE"})()


# Services DECNET runs once per host, with no per-decky container
# (``fleet_singleton`` in DECNET 1.0.0's registry). The conformance suite
# checks this against DECNET's own registry.
FLEET_SINGLETONS = frozenset({"sniffer"})

# DeckyConfig's fields in its declaration order: ``model_dump`` writes them so,
# and so does every DECNET writer of ``decky_config``.
DECKY_CONFIG_FIELDS = (
    "name", "ip", "services", "distro", "base_image", "build_base", "hostname",
    "archetype", "service_config", "nmap_os", "mutate_interval", "last_mutated",
    "last_login_attempt", "host_uuid",
)

# DeckyConfig's defaults: what DECNET's model reads for a key a state-file
# entry leaves out (an older DECNET's file has no host_uuid, say), and so what
# its model_dump writes into decky_config. The conformance suite checks them
# against DECNET's model.
DECKY_CONFIG_DEFAULTS: Mapping[str, Any] = MappingProxyType({
    "build_base": "debian:bookworm-slim@sha256:"
                  "f9c6a2fd2ddbc23e336b6257a5245e31f996953ef06cd13a59fa0a1df2d5c252",
    "archetype": None,
    "service_config": {},
    "nmap_os": "linux",
    "mutate_interval": None,
    "last_mutated": 0.0,
    "last_login_attempt": 0.0,
    "host_uuid": None,
})


def as_decnet_reads(entry: dict) -> dict:
    """A state-file entry as DECNET's model reads it: every key it leaves out
    takes DeckyConfig's default. The usual entry, which DECNET wrote with all
    of them, is returned as it is."""
    if entry.keys() >= DECKY_CONFIG_DEFAULTS.keys():
        return entry
    filled = dict(entry)
    for key, default in DECKY_CONFIG_DEFAULTS.items():
        if key not in filled:
            filled[key] = dict(default) if isinstance(default, dict) else default
    return filled


RECONCILER_INTERVAL = 30  # seconds between two ticks of DECNET's reconciler (its default)


def service_container_name(decky: str, service: str) -> str:
    """The name DECNET's reconciler looks for: ``<decky>-<service>``, ``_``
    becoming ``-``. Its composer names the containers itself, each service
    its own way: ``smtp_relay``'s is ``<decky>-smtp_relay``."""
    return f"{decky}-{service.replace('_', '-')}"


def as_written_name(decky: str, service: str) -> str:
    """``<decky>-<service>`` with the service name as written (the compose
    service key; ``smtp_relay``'s container name too)."""
    return f"{decky}-{service}"


def dump_json(value: Any) -> str:
    """JSON text as DECNET's repository writes it (``orjson.dumps``): no
    whitespace, keys in the order given, non-ASCII as UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decky_config_json(entry: Any) -> str:
    """A state-file entry as DECNET stores it in ``decky_config``: its
    ``model_dump(mode="json")``, fields in DeckyConfig's order. Keys DECNET's
    model does not know (it would refuse them) follow in the file's order."""
    known = {k: entry[k] for k in DECKY_CONFIG_FIELDS if k in entry}
    known.update((k, v) for k, v in entry.items() if k not in known)
    return dump_json(known)


def services_text(services) -> str:
    """A decky's services as a written row holds them (json-only's insert and
    config-drift's update write the same text, as DECNET writes it)."""
    return dump_json(list(services))


def config_text(config) -> str:
    """A decky's DeckyConfig as a written row holds it (see decky_config_json)."""
    return decky_config_json(config)


def aggregate_state(expected: int, present: int, running: int) -> str:
    """A decky's state from its service containers, as DECNET's reconciler
    aggregates them: ``expected`` services, ``present`` containers found,
    ``running`` of them running."""
    if not present:
        return TORN_DOWN
    if running == expected:
        return RUNNING
    if running == 0:
        return FAILED
    return DEGRADED


@lru_cache(maxsize=1024)
def _parse(text: str | None) -> Any:
    try:
        return json.loads(text) if text is not None else None
    except (ValueError, TypeError):
        return UNPARSEABLE


def parse_services(text: str | None) -> Any:
    """A row's ``services`` JSON text, parsed: the value as JSON has it
    (a fresh list each call), or :data:`UNPARSEABLE`. A fleet holds a handful
    of distinct texts, so each is parsed once."""
    value = _parse(text)
    return list(value) if type(value) is list else value


@lru_cache(maxsize=1024)
def service_names(text: str | None) -> tuple[str, ...]:
    """The service names of a row's ``services`` text; () when it is not a
    JSON list (the rule that compares the field reports that)."""
    value = _parse(text) if text else []
    return tuple(s for s in value if isinstance(s, str)) if isinstance(value, list) else ()


def docker_deckies(fleet: Fleet) -> dict[str, list[Container]]:
    """Which deckies Docker runs on this host, with their containers.

    A container belongs to decky ``X`` when it carries ``decnet.fleet.decky=X``.
    An unlabelled one (older deploys carry no labels) counts only when its
    name proves it, so an ordinary container is never taken for a decky's:

    * it is named exactly ``X`` (the base container) and labelled containers
      of ``X`` exist; or
    * ``X`` is a decky recorded for another host (its row or state-file
      entry) and the container is named ``X`` or ``X-<service>`` for one of
      that record's services; or
    * it is named ``X-<service>`` for a service some record of this fleet
      names (state file, any host's rows, a container's service label), and a
      base container named ``X`` exists too; or
    * it is this deployment's base container of ``X`` by compose's labels:
      service key and name ``X``, compose file the state file's compose_path.

    Use :attr:`Fleet.docker_deckies`, worked out once per fleet.
    """
    from .ownership import owner  # it reads this module's labels: imported on use

    out: dict[str, list[Container]] = defaultdict(list)
    claimed: set[str] = set()
    by_name = fleet.containers_by_name

    def claim(decky: str, c: Container) -> None:
        if c.name not in claimed:
            out[decky].append(c)
            claimed.add(c.name)

    for c in fleet.containers or ():
        if c.labels.get(DECKY_LABEL):
            claim(c.labels[DECKY_LABEL], c)
        elif c.labels.get(COMPOSE_SERVICE_LABEL) == c.name and owner(fleet, c).ours:
            claim(c.name, c)  # this deployment's base container, by compose's labels
    # The unlabelled base container of a decky whose services are labelled.
    for decky in list(out):
        if decky in by_name and DECKY_LABEL not in by_name[decky].labels:
            claim(decky, by_name[decky])

    for decky, services in sorted(_foreign_records(fleet).items()):
        for name in [decky, *(service_container_name(decky, s) for s in sorted(services))]:
            c = by_name.get(name)
            if c is not None and DECKY_LABEL not in c.labels:
                claim(decky, c)

    # Longest suffix first, so "-smtp-relay" wins over a service called "relay".
    suffixes = sorted({service_container_name("", s) for s in _known_services(fleet)},
                      key=lambda s: (-len(s), s))
    for c in sorted(fleet.containers or (), key=lambda c: c.name):
        if c.name in claimed:
            continue
        for suffix in suffixes:
            decky = c.name[: -len(suffix)] if c.name.endswith(suffix) else ""
            base = by_name.get(decky) if decky else None
            if base is not None and DECKY_LABEL not in base.labels:
                claim(decky, c)
                claim(decky, base)
                break
    return dict(out)


def dead_behind_running_rows(fleet: Fleet) -> list[Container]:
    """Service containers that ran and stopped while their decky's row
    says ``running`` (deckies in the state file and the rows): the few
    whose ``FinishedAt`` tells how long DECNET's reconciler has not looked."""
    out = []
    for name in fleet.paired:
        if fleet.local_rows[name].state != RUNNING:
            continue
        for s in fleet.local_deckies[name].services:
            c = fleet.service_container(name, s) if s not in FLEET_SINGLETONS else None
            if c is not None and c.finished:
                out.append(c)
    return out


def reconciler_mistakes(fleet: Fleet, decky: str, services) -> list[str]:
    """Why DECNET's reconciler misjudges a decky, service by service: what
    it looks for (by name only), and what exists instead."""
    out = []
    by_name = fleet.containers_by_name
    for s in services:
        looked_for = service_container_name(decky, s)
        if looked_for in by_name:
            continue
        if s in FLEET_SINGLETONS:
            out.append(f"it looks for {looked_for}, but {s} is a fleet singleton: DECNET "
                       f"runs it once per host, with no per-decky container")
            continue
        c = fleet.service_container(decky, s)
        if c is not None:
            out.append(f"it looks for {looked_for} (by name only), but {s}'s container "
                       f"is {c.name} ({c.state})")
    return out


def _foreign_records(fleet: Fleet) -> dict[str, set[str]]:
    """Decky names recorded for other hosts, with the services recorded for them."""
    out: dict[str, set[str]] = defaultdict(set)
    for row in fleet.foreign_rows:
        out[row.name].update(service_names(row.services))
    for d in fleet.deckies or ():
        if not fleet.is_local(d.host_uuid):
            out[d.name].update(d.services)
    return out


def _known_services(fleet: Fleet) -> set[str]:
    names: set[str] = set()
    for d in fleet.deckies or ():
        names.update(d.services)
    for text in {row.services for row in fleet.rows or ()}:
        names.update(service_names(text))
    for c in fleet.containers or ():
        svc = c.labels.get(SERVICE_LABEL)
        if svc:
            names.add(svc)
    return {n for n in names if n}
