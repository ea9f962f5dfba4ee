"""A swarm master's view: where its state file places deckies, its shards,
its enrolled workers. Shared by the master rules (``rules/shard_*.py``,
``rules/worker_silent.py``, ``rules/swarm_duplicate_ip.py``).

DECNET keeps, on the master, ``swarm_hosts`` (the enrolled workers) and
``decky_shards`` (one row per decky placed on a worker, re-upserted by every
heartbeat of that worker, ``web/router/swarm/api_heartbeat.py``).
"""

from __future__ import annotations

from functools import cached_property

from .model import WORKER, Decky, Fleet, Shard, SwarmHost
from .rule import Rule

HEARTBEAT_SECONDS = 30.0  # DECNET's agent/heartbeat.py: INTERVAL_S
MISSED_HEARTBEATS = 3
DECOMMISSIONED = "decommissioned"


def is_master(fleet: Fleet) -> bool:
    """A swarm master: ``decky_shards`` exists and it, or ``swarm_hosts``,
    holds a row. DECNET's schema creates both tables on every host, so an
    empty pair is a unihost (DECNET itself shards only once a worker is
    enrolled, ``api_deploy_deckies``)."""
    return fleet.shards is not None and bool(fleet.shards or fleet.swarm_hosts)


class SwarmRule(Rule):
    """A rule of the master pack: it applies only on a swarm master."""

    def not_applicable(self, fleet: Fleet) -> str | None:
        if fleet.role == WORKER:
            return "a swarm worker keeps no decky_shards (only the master does)"
        if fleet.shards is None:
            return "no decky_shards table: this host is not a swarm master"
        if not is_master(fleet):
            return "decky_shards and swarm_hosts are empty: no swarm on this host"
        return super().not_applicable(fleet)


class MasterView:
    """The master's records, indexed once per fleet."""

    def __init__(self, fleet: Fleet):
        self.fleet = fleet

    @cached_property
    def shards(self) -> dict[str, Shard]:
        return {s.decky_name: s for s in self.fleet.shards or ()}

    @cached_property
    def hosts(self) -> dict[str, SwarmHost]:
        return dict(self.fleet.swarm_hosts or {})

    @cached_property
    def placed(self) -> dict[str, Decky]:
        """State-file entries the master places on another host (a worker)."""
        return {d.name: d for d in self.fleet.deckies or ()
                if not self.fleet.is_local(d.host_uuid)}

    @cached_property
    def listed(self) -> dict[str, Decky]:
        return {d.name: d for d in self.fleet.deckies or ()}

    def host_label(self, uuid: str) -> str:
        host = self.hosts.get(uuid)
        return f"{uuid} ({host.name})" if host is not None and host.name else uuid


def view(fleet: Fleet) -> MasterView:
    # One view per observed fleet, shared by the pack's five rules.
    cached = getattr(fleet, "_master_view", None)
    if cached is None or cached.fleet is not fleet:
        cached = MasterView(fleet)
        fleet._master_view = cached
    return cached
