"""foreign-host-row (DA004): records that belong to another host."""

from __future__ import annotations

from collections import defaultdict

from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, STATE
from decnet_audit.rule import Rule
from decnet_audit.swarm import is_master


class ForeignHostRow(Rule):
    """A row or state-file entry belongs to another host and conflicts with this one.

    Reported, never fixed from here: every write is scoped to the local
    ``host_uuid`` and these records are another host's. Three cases:

    * a row of another host claims a decky this host runs (in its state file
      or as its containers, recognised as orphan-container recognises them):
      two hosts think they own one decky;
    * a state-file entry is assigned to another host (its ``host_uuid`` is
      neither null nor the local one): a host-local file describes a decky
      this host does not run (except on a swarm master, whose ``decky_shards``
      or ``swarm_hosts`` hold rows: its state file places deckies on workers by
      design, and the master pack's ``shard-placement`` checks those
      placements);
    * a row's ``host_uuid`` is neither the local one nor an enrolled host in
      ``swarm_hosts`` (checked only when that table exists): a row left by a
      decommissioned or never-enrolled host.

    Converges only by the named host (or an operator) acting on its own rows.
    """

    id = "foreign-host-row"
    code = "DA004"
    severity = "high"  # two hosts answer for one decky
    needs = (STATE, DB)

    def subjects(self, fleet):
        names = {r.name for r in fleet.foreign_rows}
        names.update(d.name for d in fleet.deckies or () if not fleet.is_local(d.host_uuid))
        return sorted(names)

    def check(self, fleet):
        local = fleet.host_uuid
        running_here = set(fleet.local_deckies) | set(fleet.docker_deckies)
        found = defaultdict(list)
        for row in sorted(fleet.foreign_rows, key=lambda r: (r.name, r.host_uuid)):
            if row.name in running_here:
                found[row.name].append(self.finding(
                    fleet, row.name,
                    f"row ({row.host_uuid}, {row.name}) of host {row.host_uuid!r} claims a decky "
                    f"this host ({local!r}) runs; host {row.host_uuid!r} must remove its row "
                    f"(report only)",
                    host_uuid=row.host_uuid,
                    expected=f"only host {local!r} holds {row.name}",
                    actual=f"host {row.host_uuid!r} has a row for it",
                ))
            if fleet.enrolled_hosts is not None and row.host_uuid not in fleet.enrolled_hosts:
                found[row.name].append(self.finding(
                    fleet, row.name,
                    f"row ({row.host_uuid}, {row.name}) belongs to host {row.host_uuid!r}, "
                    f"which is not enrolled in swarm_hosts; an operator of the swarm master "
                    f"must remove or re-enroll it (report only)",
                    host_uuid=row.host_uuid,
                    expected="host_uuid enrolled in swarm_hosts",
                    actual=f"host_uuid {row.host_uuid!r} not enrolled",
                ))
        placing = is_master(fleet)  # a swarm master's placements: shard-placement's
        for d in fleet.deckies or ():
            if placing:
                break
            if not fleet.is_local(d.host_uuid):
                found[d.name].append(self.finding(
                    fleet, d.name,
                    f"state-file entry {d.name} is assigned to host {d.host_uuid!r}, not this "
                    f"host ({local!r}); host {d.host_uuid!r} or a redeploy must correct it "
                    f"(report only)",
                    host_uuid=d.host_uuid,
                    expected=f"host_uuid null or {local!r}",
                    actual=f"host_uuid {d.host_uuid!r}",
                ))
        for name in sorted(found):
            yield from found[name]


@hookimpl
def decnet_audit_rules():
    return [ForeignHostRow]
