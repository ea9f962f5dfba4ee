"""What one host observed, for the JSON report's ``inventory`` (schema 2).

A fleet report (``decnet-audit merge``) joins many hosts' reports; it must
not need to read any host again. So each report carries, besides its
findings, what its host holds: every decky of its state file and every decky
Docker shows containers of, each with its state-file entry, its state
aggregated from Docker and its containers; on a swarm master also its
``decky_shards`` and ``swarm_hosts``.
"""

from __future__ import annotations

from datetime import datetime

from .decnet import DECKY_LABEL, SERVICE_LABEL
from .model import Container, Fleet


def inventory(fleet: Fleet) -> dict:
    docker = fleet.docker_deckies if fleet.containers is not None else {}
    entries = {d.name: d for d in fleet.deckies or ()}
    by_name = fleet.containers_by_name
    deckies = []
    for name in sorted(set(entries) | set(docker)):
        entry = entries.get(name)
        found = list(docker.get(name, ()))
        base = by_name.get(name)
        if base is not None and all(c is not base for c in found):
            found.append(base)  # a base container left alone by `teardown --id`
        deckies.append({
            "name": name,
            "host_uuid": entry.host_uuid if entry else None,
            "in_state_file": entry is not None,
            "entry": entry.config if entry and type(entry.config) is dict else (
                dict(entry.config) if entry else None),
            "docker_state": _state(fleet, name, entry, found),
            "running": None if fleet.containers is None else any(c.running for c in found),
            "containers": [_container(c) for c in sorted(found, key=lambda c: c.name)],
        })
    return {
        "role": fleet.role,
        "hostname": fleet.hostname,
        "subnet": fleet.subnet,
        "docker_observed": fleet.containers is not None,
        "deckies": deckies,
        "shards": None if fleet.shards is None else [
            {"decky_name": s.decky_name, "host_uuid": s.host_uuid, "state": s.state,
             "decky_ip": s.decky_ip, "last_seen": _time(s.last_seen)}
            for s in sorted(fleet.shards, key=lambda s: s.decky_name)
        ],
        "swarm_hosts": None if fleet.swarm_hosts is None else [
            {"uuid": h.uuid, "name": h.name, "address": h.address, "status": h.status,
             "last_heartbeat": _time(h.last_heartbeat)}
            for _, h in sorted(fleet.swarm_hosts.items())
        ],
    }


def _state(fleet: Fleet, name: str, entry, found: list[Container]) -> str | None:
    if fleet.containers is None:
        return None
    if entry is not None:
        return fleet.aggregate(name, entry.services)
    services = sorted({c.labels[SERVICE_LABEL] for c in found
                       if SERVICE_LABEL in c.labels and c.labels.get(DECKY_LABEL) == name})
    if services:
        return fleet.aggregate(name, services)
    return "running" if any(c.running for c in found) else "failed"


def _container(c: Container) -> dict:
    return {"name": c.name, "id": c.id, "state": c.state,
            "service": c.labels.get(SERVICE_LABEL)}


def _time(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)
