"""docker-mismatch (DA003): the row's state is not what Docker shows."""

from __future__ import annotations

from decnet_audit.decnet import (
    RECONCILER_INTERVAL,
    reconciler_mistakes,
    service_container_name,
)
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, DOCKER, STATE
from decnet_audit.ownership import deployed
from decnet_audit.rule import NOW, Change, Rule


class DockerMismatch(Rule):
    """Row state differs from the aggregate of the decky's containers in Docker.

    For a decky in both the state file and ``fleet_deckies``, the row's
    ``state`` is compared with what Docker shows for the decky's service
    containers (found by DECNET's ``decnet.fleet.*`` labels, else by name),
    aggregated as DECNET's reconciler does: ``running`` when all run,
    ``failed`` when some exist and none runs, ``degraded`` when some run and
    some do not or are missing, ``torn_down`` when none exists. Fleet
    singletons (``sniffer``) have no per-decky container and do not count.
    A stale state hides a dead honeypot from the dashboard, or reports one
    that is not there.

    DECNET's own reconciler judges by name only, expecting
    ``<decky>-<service>`` with ``_`` as ``-`` for every service: it finds no
    container for ``smtp_relay`` (its composer names it ``<decky>-smtp_relay``)
    nor for ``sniffer`` (none exists), and writes ``degraded`` for such a
    healthy decky on every tick that finds the row otherwise. Where its
    judgement and Docker's truth differ, the decky gets exactly one report-only
    finding naming DECNET's mistake, whatever the row says: a fix would be
    undone within one tick. Waive it once understood (``[[waivers]]``).

    A decky that ``decnet mutate`` changed is judged by the services Docker
    runs, those of the state table's deployment copy (see deployment-copy):
    its new containers running make it ``running``, not ``torn_down``. DECNET's
    reconciler reads the stale state file and computes another state: that
    too is one report-only finding, naming the stale record.

    Otherwise converges by updating ``state`` to what Docker shows, with
    ``last_seen`` and ``updated_at`` set as DECNET's reconciler sets them on a
    state change. Safe: it records what was just observed, and it is the value
    DECNET's reconciler computes too. Never reported when Docker could not be read.
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
            services, record = deployed(fleet, name)
            seen = fleet.aggregate(name, services)
            decnet = fleet.decnet_view(name, decky.services)
            if seen != decnet and services != decky.services:
                yield self._stale(fleet, name, decky.services, services, record, seen, decnet,
                                  row.state)
            elif seen != decnet:
                yield self._misjudged(fleet, name, decky.services, seen, decnet, row.state)
            elif seen != row.state:
                yield self.finding(
                    fleet, name,
                    f"row state is {row.state!r} but Docker shows {seen!r} "
                    f"({self._containers(fleet, name, services)}); "
                    f"converge: set state to {seen!r}",
                    expected=seen,
                    actual=row.state,
                    field="state",
                )

    def _stale(self, fleet, name, stale, services, record, seen, decnet, state):
        # `decnet mutate` saved the new services only in the state table.
        return self.finding(
            fleet, name,
            f"Docker shows {seen!r} for the services of the {record} "
            f"({self._containers(fleet, name, services)}), as `decnet mutate` left them, but "
            f"DECNET's reconciler reads the stale state file ({', '.join(stale)}) and computes "
            f"{decnet!r}; it writes {decnet!r} whenever the row says otherwise, so a fix would "
            f"be undone; row state is {state!r}; report only (see deployment-copy)",
            expected=seen,
            actual=state,
            field="state",
            fixable=False,
        )

    def _misjudged(self, fleet, name, services, seen, decnet, state):
        mistakes = "; ".join(reconciler_mistakes(fleet, name, services))
        return self.finding(
            fleet, name,
            f"Docker shows {seen!r} but DECNET's reconciler computes {decnet!r}: {mistakes}; "
            f"it writes {decnet!r} whenever the row says otherwise (every "
            f"{RECONCILER_INTERVAL} s by default), so a fix would be undone; row state is "
            f"{state!r}; report only (a DECNET mistake: waive it once understood)",
            expected=seen,
            actual=state,
            field="state",
            fixable=False,
        )

    @staticmethod
    def _containers(fleet, decky, services):
        parts = []
        for service in services:
            c = fleet.service_container(decky, service)
            label = c.name if c is not None else service_container_name(decky, service)
            parts.append(f"{label}: {c.state if c else 'missing'}")
        return ", ".join(parts) or "no services"

    def fix(self, finding, fleet):
        return [Change("update", fleet.host_uuid, finding.decky,
                       {"state": finding.expected, "last_seen": NOW})]


@hookimpl
def decnet_audit_rules():
    return [DockerMismatch]
