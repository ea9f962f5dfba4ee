"""service-allow-list (SP001): a third-party decnet-audit rule.

Registered through the ``decnet_audit`` entry-point group in this package's
``pyproject.toml``, exactly as decnet-audit registers its built-in rules.
"""

from __future__ import annotations

import os
from typing import ClassVar

from decnet_audit import STATE, Rule, hookimpl

ENV = "DECNET_AUDIT_ALLOWED_SERVICES"


class ServiceAllowList(Rule):
    """Decky of this host exposes a service outside the site's allow-list.

    Every state-file entry of this host (``host_uuid`` null or the local
    one) is checked: each of its ``services`` must be on the allow-list.
    A honeypot service nobody approved (a ``telnet`` decky on a network
    whose policy forbids clear-text logins, a ``mysql`` one outside the
    database VLAN) changes what attackers see and what the SOC must triage.

    The allow-list is the ``allowed_services`` option (decnet-audit's config
    file: ``[rules.service-allow-list] allowed-services = [...]``), else the
    comma-separated ``DECNET_AUDIT_ALLOWED_SERVICES``. With neither, no
    policy is set and nothing is checked.

    Report only: removing a service means a redeploy, an operator's call.
    """

    id = "service-allow-list"
    code = "SP001"
    needs = (STATE,)

    #: Service names a decky may expose (empty: no policy, nothing checked).
    allowed_services: ClassVar[tuple[str, ...]] = ()
    options = ("allowed_services",)

    def __init__(self, allowed_services: tuple[str, ...] | list[str] | None = None):
        if allowed_services is None and os.environ.get(ENV, "").strip():
            allowed_services = os.environ[ENV].split(",")
        if allowed_services is not None:
            self.allowed_services = tuple(s.strip() for s in allowed_services if s.strip())

    def subjects(self, fleet):
        return sorted(fleet.local_deckies) if self.allowed_services else []

    def check(self, fleet):
        allowed = set(self.allowed_services)
        for name in self.subjects(fleet):
            for service in fleet.local_deckies[name].services:
                if service not in allowed:
                    yield self.finding(
                        fleet, name,
                        f"{name} exposes {service!r}, which is not on the allow-list "
                        f"({', '.join(sorted(allowed))}); report only: redeploy without it "
                        f"or extend the allow-list",
                        field="services",
                        expected=f"services within {sorted(allowed)}",
                        actual=service,
                    )


@hookimpl
def decnet_audit_rules():
    return [ServiceAllowList]
