"""swarm-duplicate-ip (DA105): two deckies of the swarm hold one IP on one network."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from typing import ClassVar

from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, STATE
from decnet_audit.rules.duplicate_ip import _normal
from decnet_audit.swarm import SwarmRule, view


class SwarmDuplicateIp(SwarmRule):
    """Two deckies the master places on workers that share a subnet hold one IP.

    Each record is checked on its own: the master's ``decky_shards``
    (``decky_ip``, as the workers' heartbeats report it) and the master's
    state-file entries placed on workers (``ip``). Two deckies collide when
    they hold one address (compared as addresses) and

    * they are on the same worker, or
    * they are on different workers that share a subnet: the address lies in
      the master's state-file ``subnet`` (a worker on the master's LAN keeps
      the master's addresses, DECNET's ``agent/executor.py: _relocalize``)
      or in one of ``shared_subnets`` (CIDRs the operator knows several
      workers sit on).

    Workers on different LANs may reuse addresses: that is not reported.
    DECNET re-allocates the addresses of a worker whose subnet differs from
    the master's from the start of that worker's subnet, so two such workers
    on one LAN (list it in ``shared_subnets``) get the same addresses.

    Two deckies on one address answer ARP for each other. Report only: a
    redeploy with other addresses (``POST /swarm/deploy``) converges it.
    """

    id = "swarm-duplicate-ip"
    code = "DA105"
    needs = (STATE, DB)
    severity = "high"  # one of the two deckies cannot be reached

    shared_subnets: ClassVar[tuple[str, ...]] = ()
    options = ("shared_subnets",)

    def __init__(self, shared_subnets: tuple[str, ...] | None = None):
        if shared_subnets is not None:
            self.shared_subnets = tuple(shared_subnets)
        try:
            self._nets = [ipaddress.ip_network(n, strict=False) for n in self.shared_subnets]
        except ValueError as exc:
            raise ValueError(f"shared_subnets: {exc}") from None

    def subjects(self, fleet):
        v = view(fleet)
        return sorted(set(v.placed) | set(v.shards))

    def check(self, fleet):
        v = view(fleet)
        nets = list(self._nets)
        if fleet.subnet:
            try:
                nets.append(ipaddress.ip_network(fleet.subnet, strict=False))
            except ValueError:
                pass  # a state file's odd subnet only narrows what can be compared
        records = (
            ("decky_shards", "decky_ip",
             {n: (s.decky_ip, s.host_uuid) for n, s in v.shards.items()}),
            ("master's state file", "ip",
             {n: (d.ip, d.host_uuid) for n, d in v.placed.items()}),
        )
        found = defaultdict(list)
        for where, column, held in records:
            by_ip: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for name, (ip, host) in sorted(held.items()):
                if ip and ip.strip():
                    by_ip[_normal(ip)].append((name, host))
            for ip, holders in by_ip.items():
                if len(holders) < 2:
                    continue
                shared = _on_shared_net(ip, nets)
                for name, host in holders:
                    clash = [(n, h) for n, h in holders if n != name and (h == host or shared)]
                    if not clash:
                        continue
                    others = ", ".join(f"{n} on {v.host_label(h)}" for n, h in clash)
                    found[name].append(self.finding(
                        fleet, name,
                        f"{column} {ip} of {name} on {v.host_label(host)} in {where} is also "
                        f"that of {others}, on one network; report only: redeploy one of "
                        f"them with another IP (POST /swarm/deploy)",
                        host_uuid=host, field=column,
                        expected="an IP no other decky on that network holds",
                        actual=f"{ip}, shared with {others}",
                    ))
        for name in sorted(found):
            yield from found[name]


def _on_shared_net(ip: str, nets) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr.version == n.version and addr in n for n in nets)


@hookimpl
def decnet_audit_rules():
    return [SwarmDuplicateIp]
