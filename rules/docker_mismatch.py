"""docker-mismatch (DA003): the row's state is not what Docker shows."""

from __future__ import annotations

from decnet_audit.decnet import service_container_name
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, DOCKER, STATE
from decnet_audit.rule import NOW, Change, Rule


class DockerMismatch(Rule):
    """Row state differs from the aggregate of the decky's containers in Docker.

    For a decky in both the state file and ``fleet_deckies``, the row's
    ``state`` is compared with what Docker shows for the decky's service
    containers (``<decky>-<service>``, ``_`` becoming ``-``, or found by
    DECNET's ``decnet.fleet.*`` labels), aggregated as DECNET's reconciler
    does: ``running`` when all run, ``failed`` when some exist and none runs,
    ``degraded`` when some run and some do not or are missing, ``torn_down``
    when none exists. A stale state hides a dead honeypot from the dashboard,
    or reports one that is not there.

    Converges by updating ``state`` (with ``last_seen`` and ``updated_at``). Safe:
    it records what was just observed. Never reported when Docker could not be read.
    """

    id = "docker-mismatch"
    code = "DA003"
    severity = "high"  # a dead honeypot shown as running
    needs = (STATE, DB, DOCKER)
    fix_safety = "safe"

    def subjects(self, fleet):
        return fleet.paired

    def check(self, fleet):
        for name in self.subjects(fleet):
            decky, row = fleet.local_deckies[name], fleet.local_rows[name]
            seen = fleet.aggregate(name, decky.services)
            if seen != row.state:
                yield self.finding(
                    fleet, name,
                    f"row state is {row.state!r} but Docker shows {seen!r} "
                    f"({self._containers(fleet, name, decky.services)}); "
                    f"converge: set state to {seen!r}",
                    expected=seen,
                    actual=row.state,
                    field="state",
                )

    @staticmethod
    def _containers(fleet, decky, services):
        parts = []
        for service in services:
            c = fleet.service_container(decky, service)
            parts.append(f"{service_container_name(decky, service)}: {c.state if c else 'missing'}")
        return ", ".join(parts) or "no services"

    def fix(self, finding, fleet):
        return [Change("update", fleet.host_uuid, finding.decky,
                       {"state": finding.expected, "last_seen": NOW})]


@hookimpl
def decnet_audit_rules():
    return [DockerMismatch]
