"""shard-unlisted (DA102): a shard of a decky the master's state file does not list."""

from __future__ import annotations

from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, STATE
from decnet_audit.swarm import SwarmRule, view


class ShardUnlisted(SwarmRule):
    """A decky_shards row names a decky that the master's state file does not list.

    The master's state file is its record of the whole swarm fleet; a shard
    outside it is a decky the master no longer means to run but that a worker
    (per the shard) still runs, or a row left behind. DECNET's one-decky
    teardown (``POST /swarm/teardown`` with ``decky_id``) never deletes the
    shard, and the worker's heartbeats keep re-upserting it as long as its
    own state file lists the decky.

    Report only: DECNET's swarm controller owns ``decky_shards``. Converges
    by a whole-host teardown (``POST /swarm/teardown`` with the host's uuid:
    ``delete_decky_shards_for_host``) followed by a redeploy of what that
    host should run, or by decommissioning the host (``DELETE
    /swarm/hosts/{uuid}``).
    """

    id = "shard-unlisted"
    code = "DA102"
    needs = (STATE, DB)
    severity = "medium"  # a leftover record: the master's state file no longer lists it

    def subjects(self, fleet):
        return sorted(view(fleet).shards)

    def check(self, fleet):
        v = view(fleet)
        for name in self.subjects(fleet):
            if name in v.listed:
                continue
            shard = v.shards[name]
            yield self.finding(
                fleet, name,
                f"shard {name} on host {v.host_label(shard.host_uuid)} (state "
                f"{shard.state!r}) is not in the master's state file; converges by a "
                f"whole-host teardown of that host (POST /swarm/teardown with its "
                f"host_uuid) and a redeploy, or its decommission (report only)",
                host_uuid=shard.host_uuid,
                expected=f"{name} in the master's state file, or no shard",
                actual=f"shard on {shard.host_uuid}, state {shard.state}",
            )


@hookimpl
def decnet_audit_rules():
    return [ShardUnlisted]
