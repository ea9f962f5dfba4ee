"""decky-down (DA106): on a swarm worker, a decky of the state file is not running."""

from __future__ import annotations

from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DOCKER, STATE, WORKER
from decnet_audit.rule import Rule


class DeckyDown(Rule):
    """A decky this worker's state file lists does not run in Docker.

    A DECNET worker keeps no database: its records are its state file and
    its containers, and its heartbeat tells the master ``running`` when
    every service container of a decky runs, ``degraded`` otherwise
    (``agent/executor.py``, by name, ``_`` becoming ``-``). Here the decky's
    state is aggregated over its service containers as everywhere else
    (``decnet.fleet.*`` labels, then names): a decky whose state is not
    ``running`` is reported with what Docker shows. Elsewhere ``docker-mismatch``
    compares the same aggregate with the ``fleet_deckies`` row, so this rule
    applies only on a worker.

    Report only: the master owns the worker's deckies. Converges by a
    redeploy from the master (``POST /swarm/deploy``, which the worker's agent
    runs through ``decnet deploy``'s code), or by an operator restarting the
    containers on the worker.
    """

    id = "decky-down"
    code = "DA106"
    needs = (STATE, DOCKER)
    roles = (WORKER,)
    severity = "high"  # a dead honeypot the master counts as deployed

    def subjects(self, fleet):
        return sorted(fleet.local_deckies)

    def check(self, fleet):
        for name in self.subjects(fleet):
            decky = fleet.local_deckies[name]
            state = fleet.aggregate(name, decky.services)
            if state == "running" or not decky.services:
                continue
            shown = []
            for service in decky.services:
                c = fleet.service_container(name, service)
                shown.append(f"{service}: {c.name} {c.state}" if c else f"{service}: no container")
            yield self.finding(
                fleet, name,
                f"{name} is in this worker's state file but its containers are {state} "
                f"({'; '.join(shown)}); its next heartbeat tells the master 'degraded'; "
                f"converges by a redeploy from the master (report only)",
                expected="running", actual=state,
            )


@hookimpl
def decnet_audit_rules():
    return [DeckyDown]
