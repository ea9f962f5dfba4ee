"""shard-host-unknown (DA103): a shard of a host that is not enrolled, or decommissioned."""

from __future__ import annotations

from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB
from decnet_audit.swarm import DECOMMISSIONED, SwarmRule, view


class ShardHostUnknown(SwarmRule):
    """A decky_shards row belongs to a host missing from swarm_hosts or decommissioned.

    ``decky_shards.host_uuid`` references ``swarm_hosts.uuid``. MariaDB
    enforces that reference, SQLite (as DECNET opens it, without ``PRAGMA
    foreign_keys``) does not: there a shard can outlive its host. A host
    whose ``status`` is ``decommissioned`` (DECNET's readers skip such hosts)
    no longer heartbeats, so its shards describe nothing that runs.

    Report only. Converges by DECNET's decommission (``DELETE
    /swarm/hosts/{uuid}``: ``delete_decky_shards_for_host`` then
    ``delete_swarm_host``) for a decommissioned host; a shard of a host that
    is not enrolled at all has no DECNET path (the API answers 404 for an
    unknown host): an operator deletes it on the master.
    """

    id = "shard-host-unknown"
    code = "DA103"
    needs = (DB,)
    severity = "medium"  # a record of a host that is gone

    def subjects(self, fleet):
        return sorted(view(fleet).shards)

    def check(self, fleet):
        v = view(fleet)
        for name in self.subjects(fleet):
            shard = v.shards[name]
            host = v.hosts.get(shard.host_uuid)
            if host is None:
                yield self.finding(
                    fleet, name,
                    f"shard {name} belongs to host {shard.host_uuid!r}, which is not enrolled "
                    f"in swarm_hosts; no DECNET path removes it: delete the shard on the "
                    f"master (report only)",
                    host_uuid=shard.host_uuid, field="host_uuid",
                    expected="a host enrolled in swarm_hosts",
                    actual=f"{shard.host_uuid} not enrolled",
                )
            elif (host.status or "").lower() == DECOMMISSIONED:
                yield self.finding(
                    fleet, name,
                    f"shard {name} belongs to host {v.host_label(shard.host_uuid)}, which is "
                    f"decommissioned; converges by DECNET's decommission (DELETE "
                    f"/swarm/hosts/{shard.host_uuid}) (report only)",
                    host_uuid=shard.host_uuid, field="host_uuid",
                    expected="a host that is not decommissioned",
                    actual=f"{shard.host_uuid} status {host.status}",
                )


@hookimpl
def decnet_audit_rules():
    return [ShardHostUnknown]
