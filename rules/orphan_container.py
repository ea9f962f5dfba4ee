"""orphan-container (DA005): containers of a decky this host does not know."""

from __future__ import annotations

import json
from collections import defaultdict

from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, DOCKER, STATE, Container, Fleet, service_container_name
from decnet_audit.rule import Change, Rule

DECKY_LABEL = "decnet.fleet.decky"


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
    needs = (STATE, DB, DOCKER)
    fix_safety = "unsafe"

    _seen: tuple[Fleet, dict[str, list[Container]]] | None = None

    def _deckies(self, fleet: Fleet) -> dict[str, list[Container]]:
        # subjects() and check() both need it; a fleet is not changed once
        # observed, so it is worked out once per fleet (held, so never reused).
        if self._seen is None or self._seen[0] is not fleet:
            self._seen = (fleet, docker_deckies(fleet))
        return self._seen[1]

    def subjects(self, fleet):
        return sorted(self._deckies(fleet))

    def check(self, fleet):
        known = set(fleet.local_deckies) | set(fleet.local_rows)
        for name, containers in sorted(self._deckies(fleet).items()):
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


def docker_deckies(fleet: Fleet) -> dict[str, list[Container]]:
    """Every decky Docker shows a container of, with those containers."""
    out: dict[str, list[Container]] = defaultdict(list)
    claimed: set[str] = set()
    by_name = fleet.containers_by_name

    def claim(decky: str, c: Container) -> None:
        if c.name not in claimed:
            out[decky].append(c)
            claimed.add(c.name)

    for c in fleet.containers or ():
        if c.labels.get(DECKY_LABEL):
            claim(c.labels[DECKY_LABEL], c)
    # The unlabelled base container of a decky whose services are labelled.
    for decky in list(out):
        if decky in by_name and DECKY_LABEL not in by_name[decky].labels:
            claim(decky, by_name[decky])

    for decky, services in sorted(_foreign_records(fleet).items()):
        for name in [decky, *(service_container_name(decky, s) for s in sorted(services))]:
            c = by_name.get(name)
            if c is not None and DECKY_LABEL not in c.labels:
                claim(decky, c)

    # Longest suffix first, so "-smtp-relay" wins over a service called "relay".
    suffixes = sorted({service_container_name("", s) for s in _known_services(fleet)},
                      key=lambda s: (-len(s), s))
    for c in sorted(fleet.containers or (), key=lambda c: c.name):
        if c.name in claimed:
            continue
        for suffix in suffixes:
            decky = c.name[: -len(suffix)] if c.name.endswith(suffix) else ""
            base = by_name.get(decky) if decky else None
            if base is not None and DECKY_LABEL not in base.labels:
                claim(decky, c)
                claim(decky, base)
                break
    return dict(out)


def _foreign_records(fleet: Fleet) -> dict[str, set[str]]:
    """Decky names recorded for other hosts, with the services recorded for them."""
    out: dict[str, set[str]] = defaultdict(set)
    for row in fleet.foreign_rows:
        out[row.name].update(_services_of_row(row.services))
    for d in fleet.deckies or ():
        if not fleet.is_local(d.host_uuid):
            out[d.name].update(d.services)
    return out


def _known_services(fleet: Fleet) -> set[str]:
    names: set[str] = set()
    for d in fleet.deckies or ():
        names.update(d.services)
    # Rows repeat a handful of services texts: parse each distinct one once.
    for text in {row.services for row in fleet.rows or ()}:
        names.update(_services_of_row(text))
    for c in fleet.containers or ():
        svc = c.labels.get("decnet.fleet.service_name")
        if svc:
            names.add(svc)
    return {n for n in names if n}


def _services_of_row(text: str | None) -> list[str]:
    try:
        value = json.loads(text) if text else []
    except (ValueError, TypeError):
        return []
    return [s for s in value if isinstance(s, str)] if isinstance(value, list) else []


@hookimpl
def decnet_audit_rules():
    return [OrphanContainer]
