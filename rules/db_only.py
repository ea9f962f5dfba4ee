"""db-only (DA002): a row of this host whose decky is not in the state file."""

from __future__ import annotations

from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, STATE
from decnet_audit.rule import Change, Rule


class DbOnly(Rule):
    """Row of this host in fleet_deckies names a decky the state file does not list.

    ``fleet_deckies`` has a row ``(local host_uuid, name)`` but the state file,
    DECNET's canonical record, has no such decky for this host: typically a
    teardown that removed the decky but not its row. The dashboard shows a
    decky that is not deployed, and the orchestrator may act on it.

    Converges by deleting the row. Unsafe (needs ``--unsafe-fixes``): the row
    may hold what no other record keeps (``last_error``, ``compose_hash``), and
    a wrong ``--state`` path would make every row look like this. The deleted
    row is kept in the fix journal, so ``decnet-audit undo`` restores it.
    """

    id = "db-only"
    code = "DA002"
    severity = "medium"  # the dashboard lists a decky that is not deployed
    needs = (STATE, DB)
    fix_safety = "unsafe"

    def subjects(self, fleet):
        return sorted(fleet.local_rows)

    def check(self, fleet):
        for name in self.subjects(fleet):
            if name not in fleet.local_deckies:
                row = fleet.local_rows[name]
                yield self.finding(
                    fleet, name,
                    f"fleet_deckies row ({row.host_uuid}, {name}) has no decky in the state "
                    f"file; converge: delete the row",
                    expected="no row",
                    actual=f"row ({row.host_uuid}, {name}) state={row.state}",
                )

    def fix(self, finding, fleet):
        return [Change("delete", fleet.host_uuid, finding.decky)]


@hookimpl
def decnet_audit_rules():
    return [DbOnly]
