"""orphan-container (DA005): containers of a decky this host does not know."""

from __future__ import annotations

from decnet_audit.decnet import DECKY_LABEL, FLEET_SINGLETONS
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, DOCKER, STATE, Container
from decnet_audit.ownership import FOREIGN, base_of, deployed, owner
from decnet_audit.rule import Change, Rule


class OrphanContainer(Rule):
    """Docker runs containers of a decky that neither the state file nor this host's rows list.

    A container belongs to decky ``X`` when it carries DECNET's label
    ``decnet.fleet.decky=X``. Containers from older deploys carry no labels;
    so that an ordinary container on the host is never taken for a decky's,
    an unlabelled one counts only when its name proves it:

    * it is named exactly ``X`` (the base container) and labelled containers
      of ``X`` exist; or
    * it is named ``X-<service>`` for a service some record of this fleet
      names (state file, any host's rows, a container's
      ``decnet.fleet.service_name``), and a base container named ``X``
      exists too; or
    * ``X`` is a decky recorded for another host (its row or state-file
      entry) and the container is named ``X`` or ``X-<service>`` for one of
      that record's services.

    * it is this deployment's base container of ``X``, by compose's labels:
      service key and name ``X``, compose file the state file's
      ``compose_path``.

    ``X`` is an orphan when it is neither in the state file (for this host)
    nor in a ``fleet_deckies`` row of this host: a failed teardown, or a decky
    moved elsewhere whose containers stayed. Orphans still answer attackers,
    hold IPs and log nowhere anyone reads. A base container whose decky has
    no service container left is reported too: ``decnet teardown --id X``
    removes only X's service containers (``engine/deployer.py``), and the
    base container keeps X's IP.

    Converges by removing the orphan's containers. Unsafe (needs
    ``--unsafe-fixes``): a wrong ``--state``/``--db`` would make every decky
    look orphaned. A container is only ever removed with proof that it is
    this deployment's: compose's project labels name this host's compose
    file (``com.docker.compose.project.config_files`` = the state file's
    ``compose_path``). A DECNET label alone is no proof: another DECNET
    fleet on the same engine labels its containers alike. Containers of
    another deployment are reported as such and never removed; unproven
    ones are reported for an operator to remove.
    """

    id = "orphan-container"
    code = "DA005"
    severity = "high"  # containers no record manages, still on the network
    needs = (STATE, DB, DOCKER)
    fix_safety = "unsafe"
    # A worker keeps no database: its state file alone says what it runs.
    on_worker = True

    def subjects(self, fleet):
        return sorted(fleet.docker_deckies)

    def check(self, fleet):
        known = set(fleet.local_deckies) | set(fleet.local_rows)
        for name, containers in sorted(fleet.docker_deckies.items()):
            if name in known:
                yield from self._left_base(fleet, name, containers)
                continue
            for c in sorted(containers, key=lambda c: c.name):
                yield self._orphan(fleet, name, c)

    def _orphan(self, fleet, name: str, c: Container):
        proof = owner(fleet, c)
        how = (f"labelled {DECKY_LABEL}={name}" if c.labels.get(DECKY_LABEL) == name
               else "its base container by compose's labels" if base_of(c) == name
               else "unlabelled, matched by name")
        if proof.verdict == FOREIGN:
            verdict = f"it belongs to another deployment ({proof.why}): never removed from here"
        elif proof.ours and _removable(c, name):
            verdict = f"it is this deployment's ({proof.why}); converge: remove the container " \
                      f"(--unsafe-fixes)"
        else:
            verdict = f"{proof.why}: --fix never removes it; remove it by hand if it is " \
                      f"this deployment's"
        return self.finding(
            fleet, name,
            f"container {c.name} ({c.state}, {how}) belongs to decky {name}, which is neither "
            f"in the state file nor a row of host {fleet.host_uuid!r}; {verdict}",
            expected=f"decky {name} in the state file or a row of host {fleet.host_uuid!r}, "
                     f"or no container of it",
            actual=f"container {c.name} ({c.state})",
            fixable=proof.ours and _removable(c, name),
            field=c.name,
        )

    def _left_base(self, fleet, name: str, containers: list[Container]):
        """A known decky's base container with no service container beside it."""
        services, record = deployed(fleet, name)
        base = fleet.containers_by_name.get(name)
        if base is None or [c.name for c in containers] != [name] or base_of(base) != name \
                or not set(services) - FLEET_SINGLETONS:
            return
        proof = owner(fleet, base)
        yield self.finding(
            fleet, name,
            f"base container {name} ({base.state}) is left without any service container "
            f"(the {record} lists {', '.join(services) or 'none'}): the decky is torn down, "
            f"as `decnet teardown --id {name}` leaves it (it removes only the service "
            f"containers), and the base container still holds {name}'s IP; "
            f"{'converge: remove it (--unsafe-fixes)' if proof.ours else proof.why}",
            expected=f"no container of torn-down decky {name}, or its service containers",
            actual=f"base container {name} ({base.state}) only",
            fixable=proof.ours,
            field=name,
        )

    def fix(self, finding, fleet):
        # The finding's field is the container's name; re-check on what was
        # observed that it is this deployment's, so nothing else is handed over.
        c = fleet.containers_by_name.get(finding.field or "")
        if c is None or not _removable(c, finding.decky) or not owner(fleet, c).ours:
            return []
        return [Change("remove", fleet.host_uuid, c.name,
                       {"id": c.id, "decky": finding.decky}, target="container")]


def _removable(c: Container, decky: str) -> bool:
    """DECNET's own container of ``decky``: labelled so, or its base container."""
    return c.labels.get(DECKY_LABEL) == decky or base_of(c) == decky


@hookimpl
def decnet_audit_rules():
    return [OrphanContainer]
