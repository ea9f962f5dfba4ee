"""worker-silent (DA104): a worker's heartbeats stopped; its shards' state is unknown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB
from decnet_audit.rules.stale_observation import parse_utc
from decnet_audit.swarm import HEARTBEAT_SECONDS, MISSED_HEARTBEATS, SwarmRule, view


class WorkerSilent(SwarmRule):
    """A shard's worker has not sent a heartbeat for three heartbeat intervals.

    Every DECNET worker posts a heartbeat to the master every 30 s
    (``agent/heartbeat.py``); the master's handler sets
    ``swarm_hosts.last_heartbeat`` and re-upserts each shard the worker
    reports, with ``state`` ``running`` or ``degraded`` from its containers.
    When a worker's ``last_heartbeat`` is older than
    ``missed_heartbeats`` × ``heartbeat_interval_seconds`` (3 × 30 s), or was
    never set, its shards' ``state`` is what the worker said last, not what
    runs now: one finding per shard of that worker, saying the state is
    unknown. Times are naive UTC, as DECNET stores them.

    Report only: the cure is on the worker (its agent, its network, its
    certificate). DECNET's own paths that touch it: the worker's next
    heartbeat (``POST /swarm/heartbeat``) sets ``last_heartbeat`` and the
    shards again; ``POST /swarm/check`` marks an unreachable host
    ``unreachable`` but leaves its shards as they are.
    """

    id = "worker-silent"
    code = "DA104"
    needs = (DB,)
    severity = "medium"  # its deckies' state is unknown, as with a stopped reconciler

    heartbeat_interval_seconds: ClassVar[float] = HEARTBEAT_SECONDS
    missed_heartbeats: ClassVar[int] = MISSED_HEARTBEATS
    options = ("heartbeat_interval_seconds", "missed_heartbeats")

    def __init__(self, heartbeat_interval_seconds: float | None = None,
                 missed_heartbeats: int | None = None,
                 now: Callable[[], datetime] | None = None):
        if heartbeat_interval_seconds is not None:
            if not heartbeat_interval_seconds > 0:
                raise ValueError("heartbeat_interval_seconds must be positive")
            self.heartbeat_interval_seconds = heartbeat_interval_seconds
        if missed_heartbeats is not None:
            if missed_heartbeats < 1:
                raise ValueError("missed_heartbeats must be 1 or more")
            self.missed_heartbeats = missed_heartbeats
        self._now = now or (lambda: datetime.now(UTC).replace(tzinfo=None))

    def subjects(self, fleet):
        v = view(fleet)
        return sorted(n for n, s in v.shards.items() if s.host_uuid in v.hosts)

    def check(self, fleet):
        v = view(fleet)
        now = self._now()
        limit = timedelta(seconds=self.heartbeat_interval_seconds * self.missed_heartbeats)
        verdicts: dict[str, str | None] = {}  # host uuid -> why it is silent, None if not
        for name in self.subjects(fleet):
            shard = v.shards[name]
            if shard.host_uuid not in verdicts:
                verdicts[shard.host_uuid] = self._silence(v.hosts[shard.host_uuid], now, limit)
            why = verdicts[shard.host_uuid]
            if why is None:
                continue
            yield self.finding(
                fleet, name,
                f"worker {v.host_label(shard.host_uuid)} {why}: shard {name}'s state "
                f"{shard.state!r} is unknown, not current; check the worker's agent "
                f"(report only)",
                host_uuid=shard.host_uuid, field="last_heartbeat",
                expected=f"a heartbeat within {limit.total_seconds():g} s "
                         f"({self.missed_heartbeats} x {self.heartbeat_interval_seconds:g} s)",
                actual=f"state {shard.state!r} from a worker that {why}",
            )

    @staticmethod
    def _silence(host, now: datetime, limit: timedelta) -> str | None:
        if host.last_heartbeat is None:
            return "never sent a heartbeat"
        seen = parse_utc(host.last_heartbeat)
        if seen is None:
            return f"has a last_heartbeat that is not a time ({host.last_heartbeat!r})"
        age = now - seen
        if age <= limit:
            return None
        return (f"last sent a heartbeat at {seen.isoformat(sep=' ', timespec='seconds')} UTC, "
                f"{age.total_seconds():.0f} s ago")


@hookimpl
def decnet_audit_rules():
    return [WorkerSilent]
