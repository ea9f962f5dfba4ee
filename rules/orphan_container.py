"""orphan-container (DA005): containers of a decky this host does not know."""

from __future__ import annotations

from decnet_audit.decnet import DECKY_LABEL
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, DOCKER, STATE
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

    ``X`` is an orphan when it is neither in the state file (for this host)
    nor in a ``fleet_deckies`` row of this host: a failed teardown, or a decky
    moved elsewhere whose containers stayed. Orphans still answer attackers,
    hold IPs and log nowhere anyone reads.

    Converges by removing the orphan's containers. Unsafe (needs
    ``--unsafe-fixes``): a wrong ``--state``/``--db`` would make every decky
    look orphaned. Only containers carrying the ``decnet.fleet.decky`` label
    are ever removed; unlabelled ones are reported for an operator to remove.
    """

    id = "orphan-container"
    code = "DA005"
    severity = "high"  # containers no record manages, still on the network
    needs = (STATE, DB, DOCKER)
    fix_safety = "unsafe"

    def subjects(self, fleet):
        return sorted(fleet.docker_deckies)

    def check(self, fleet):
        known = set(fleet.local_deckies) | set(fleet.local_rows)
        for name, containers in sorted(fleet.docker_deckies.items()):
            if name in known:
                continue
            for c in sorted(containers, key=lambda c: c.name):
                labelled = c.labels.get(DECKY_LABEL) == name
                how = (f"labelled {DECKY_LABEL}={name}" if labelled
                       else "unlabelled, matched by name")
                converge = ("converge: remove the container (--unsafe-fixes)" if labelled
                            else "no DECNET label, so --fix never removes it: "
                                 "remove it by hand if it is DECNET's")
                yield self.finding(
                    fleet, name,
                    f"container {c.name} ({c.state}, {how}) belongs to decky {name}, which "
                    f"is neither in the state file nor a row of host {fleet.host_uuid!r}; "
                    f"{converge}",
                    expected=f"decky {name} in the state file or a row of host "
                             f"{fleet.host_uuid!r}, or no container of it",
                    actual=f"container {c.name} ({c.state})",
                    fixable=labelled,
                    field=c.name,
                )

    def fix(self, finding, fleet):
        # The finding's field is the container's name; re-check the label on
        # what was observed so that nothing unlabelled is ever handed over.
        c = fleet.containers_by_name.get(finding.field or "")
        if c is None or c.labels.get(DECKY_LABEL) != finding.decky:
            return []
        return [Change("remove", fleet.host_uuid, c.name,
                       {"id": c.id, "decky": finding.decky}, target="container")]



@hookimpl
def decnet_audit_rules():
    return [OrphanContainer]
