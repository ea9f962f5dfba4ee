"""A swarm master's own tables, as read: ``decky_shards`` and ``swarm_hosts``
(DECNET's ``web/db/models/swarm.py``). Only a master holds rows in them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The part a host plays (DECNET's ``[decnet] mode``): ``master``, which a
# unihost is too, or ``agent``: a worker.
MASTER, WORKER = "master", "worker"

@dataclass(frozen=True, slots=True)
class Shard:
    """One ``decky_shards`` row of a swarm master: a decky placed on a worker."""

    decky_name: str
    host_uuid: str
    services: str | None
    decky_config: str | None
    decky_ip: str | None
    state: str | None
    last_error: str | None = None
    compose_hash: str | None = None
    last_seen: Any = None  # the worker's last heartbeat that echoed this shard
    updated_at: Any = None


@dataclass(frozen=True, slots=True)
class SwarmHost:
    """One ``swarm_hosts`` row of a swarm master: an enrolled worker."""

    uuid: str
    name: str | None = None
    address: str | None = None
    status: str | None = None  # enrolled, active, unreachable, decommissioned
    last_heartbeat: Any = None
