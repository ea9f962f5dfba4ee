"""shard-placement (DA101): the master places a decky where no shard says it is."""

from __future__ import annotations

from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, STATE
from decnet_audit.swarm import DECOMMISSIONED, SwarmRule, view


class ShardPlacement(SwarmRule):
    """A decky of the master's state file has no shard on the worker it is placed on.

    On a swarm master, every state-file entry whose ``host_uuid`` names a
    worker should have a ``decky_shards`` row with that ``host_uuid``: the
    dashboard and the swarm controller read the shard, not the file. Three
    cases:

    * the entry is placed on worker W and no shard exists: the dispatch to W
      failed before it wrote the shard, or the shard was deleted;
    * the shard names another host than the entry: the decky moved (or the
      file was edited) and the old host's heartbeats still claim it;
    * the entry stays on the master (``host_uuid`` null or the master's) but
      a shard says a worker runs it;
    * the entry is placed on a host that is not enrolled in ``swarm_hosts``
      (or is decommissioned): nothing will run it.

    Report only: DECNET's swarm controller owns ``decky_shards``. It
    converges by a swarm deploy of the state file (``POST /swarm/deploy``:
    ``upsert_decky_shard`` with the entry's host), or, when W does run the
    decky, by W's next heartbeat (``POST /swarm/heartbeat`` re-upserts each
    decky W reports). While another host keeps running it, that host's
    heartbeats write the shard back to itself: tear it down there first.
    """

    id = "shard-placement"
    code = "DA101"
    needs = (STATE, DB)
    severity = "medium"  # a record of the master's is missing or old; the worker may run it

    def subjects(self, fleet):
        v = view(fleet)
        return sorted(set(v.placed) | {n for n in v.listed if n in v.shards})

    def check(self, fleet):
        v = view(fleet)
        for name in self.subjects(fleet):
            entry, shard = v.listed[name], v.shards.get(name)
            placed = name in v.placed
            host = v.hosts.get(entry.host_uuid) if placed else None
            if placed and (host is None or (host.status or "").lower() == DECOMMISSIONED):
                yield self.finding(
                    fleet, name,
                    f"the state file places {name} on host {entry.host_uuid!r}, which is "
                    f"{'decommissioned' if host else 'not enrolled in swarm_hosts'}; "
                    f"converges by an API deploy (POST /deckies/deploy), which places it "
                    f"on an enrolled worker (report only)",
                    host_uuid=entry.host_uuid, field="host_uuid",
                    expected="an enrolled worker",
                    actual=f"{entry.host_uuid} {host.status if host else 'not enrolled'}",
                )
            if placed and shard is None:
                yield self.finding(
                    fleet, name,
                    f"the state file places {name} on worker {v.host_label(entry.host_uuid)} "
                    f"but decky_shards has no row for it; converges by a swarm deploy "
                    f"(POST /swarm/deploy) or that worker's next heartbeat if it runs "
                    f"{name} (report only)",
                    host_uuid=entry.host_uuid,
                    expected=f"shard ({name}, {entry.host_uuid})", actual="no shard",
                )
            elif placed and shard.host_uuid != entry.host_uuid:
                yield self.finding(
                    fleet, name,
                    f"the state file places {name} on worker {v.host_label(entry.host_uuid)} "
                    f"but its shard names host {v.host_label(shard.host_uuid)}; converges by "
                    f"a swarm deploy (POST /swarm/deploy), after a teardown on "
                    f"{shard.host_uuid!r} whose heartbeats otherwise write it back "
                    f"(report only)",
                    host_uuid=shard.host_uuid, field="host_uuid",
                    expected=entry.host_uuid, actual=shard.host_uuid,
                )
            elif not placed and shard is not None:
                yield self.finding(
                    fleet, name,
                    f"the state file keeps {name} on the master but a shard places it on "
                    f"worker {v.host_label(shard.host_uuid)}; converges by a whole-host "
                    f"teardown of that worker (POST /swarm/teardown with its host_uuid; "
                    f"a one-decky teardown keeps the shard) or a redeploy that places "
                    f"it there (report only)",
                    host_uuid=shard.host_uuid, field="host_uuid",
                    expected="no shard (a master-resident decky)", actual=shard.host_uuid,
                )


@hookimpl
def decnet_audit_rules():
    return [ShardPlacement]
