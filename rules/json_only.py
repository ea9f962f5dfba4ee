"""json-only (DA001): a decky in the state file with no row in the database."""

from __future__ import annotations

from decnet_audit.decnet import config_text, services_text
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, DOCKER, STATE
from decnet_audit.rule import Change, Rule


class JsonOnly(Rule):
    """Decky in the state file has no fleet_deckies row for this host.

    The state file lists a decky for this host (its ``host_uuid`` is null or
    the local one) but ``fleet_deckies`` has no row ``(local host_uuid, name)``.
    DECNET's dashboard, REST API and orchestrator read the table, so they do
    not know the decky exists: it is deployed but invisible and unmanaged.

    Converges by inserting the row from the state file (the canonical record)
    exactly as DECNET's reconciler inserts it: ``services``, ``decky_ip`` and
    ``decky_config`` from the entry (compact JSON, DeckyConfig's field order,
    as DECNET's repository writes them), ``state`` as DECNET's reconciler
    computes it from Docker (for a decky it misjudges, its value, which
    docker-mismatch explains; any other would be overwritten on its next
    tick), ``last_seen`` NULL as DECNET leaves it, ``updated_at`` now. Safe:
    it adds what the canonical record already says and what Docker was just
    seen doing. Not applied when Docker could not be read: ``state`` would be
    a guess.
    """

    id = "json-only"
    code = "DA001"
    severity = "medium"  # the dashboard misses a decky that runs
    needs = (STATE, DB)
    fix_needs = (DOCKER,)
    fix_safety = "safe"

    def subjects(self, fleet):
        return sorted(fleet.local_deckies)

    def check(self, fleet):
        for name in self.subjects(fleet):
            if name not in fleet.local_rows:
                yield self.finding(
                    fleet, name,
                    f"{name} is in the state file but fleet_deckies has no row for host "
                    f"{fleet.host_uuid!r}; converge: insert the row from the state file",
                    expected=f"row ({fleet.host_uuid}, {name})",
                    actual="no row",
                )

    def fix(self, finding, fleet):
        decky = fleet.local_deckies[finding.decky]
        return [Change("insert", fleet.host_uuid, decky.name, {
            "services": services_text(decky.services),
            "decky_config": config_text(decky.config),
            "decky_ip": decky.ip,
            "state": fleet.decnet_view(decky.name, decky.services),
        })]


@hookimpl
def decnet_audit_rules():
    return [JsonOnly]
