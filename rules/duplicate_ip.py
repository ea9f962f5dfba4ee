"""duplicate-ip (DA008): two deckies of this host hold the same IP."""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict

from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, STATE
from decnet_audit.rule import Rule


class DuplicateIp(Rule):
    """Two deckies of this host share one IP, in the state file or in this host's rows.

    Each record is checked on its own: the state file's entries for this host
    (``ip``), and this host's ``fleet_deckies`` rows (``decky_ip``). Addresses
    are compared as addresses (``fe80::1`` equals ``FE80:0::1``); empty ones
    are skipped. Other hosts' deckies are not compared: they sit on other
    networks. A decky whose row and entry disagree is config-drift's, not
    this rule's.

    Each decky on a shared address has a finding. The first of them (by
    name) lists every decky on that address; each other one names that
    first decky and how many share the address, so the report grows with the
    number of deckies, not with the number of pairs.

    Two deckies on one address answer ARP for each other: one of them is
    unreachable, and what an attacker reaches is not what the records say.
    Report only: which decky should move is an operator's choice (a redeploy
    with a new IP).
    """

    id = "duplicate-ip"
    code = "DA008"
    severity = "high"  # one of the two deckies cannot be reached
    needs = (STATE, DB)

    def subjects(self, fleet):
        return sorted(set(fleet.local_deckies) | set(fleet.local_rows))

    def check(self, fleet):
        records = (
            ("state file", "ip", {n: d.ip for n, d in fleet.local_deckies.items()}),
            (f"rows of host {fleet.host_uuid!r}", "decky_ip",
             {n: r.decky_ip for n, r in fleet.local_rows.items()}),
        )
        found = defaultdict(list)
        for where, column, ips in records:
            for ip, names in _shared(ips).items():
                first, rest = names[0], names[1:]
                listed = ", ".join(rest)
                shown = listed if len(rest) <= _NAMED else \
                    f"{', '.join(rest[:_NAMED])} and {len(rest) - _NAMED} more"
                found[first].append(self._finding(fleet, first, column, where, ip, shown,
                                                  listed))
                tail = f" and {len(rest) - 1} more (listed under {first})" if len(rest) > 1 \
                    else ""
                for name in rest:
                    found[name].append(self._finding(fleet, name, column, where, ip,
                                                     first + tail, first + tail))
        for name in sorted(found):
            yield from found[name]

    def _finding(self, fleet, name, column, where, ip, shown, listed):
        return self.finding(
            fleet, name,
            f"{column} {ip} in the {where} is also that of {shown}; report only: redeploy "
            f"one of them with another IP",
            field=column,
            expected=f"an IP no other decky of this host has in the {where}",
            actual=f"{ip}, shared with {listed}",
        )


_NAMED = 10  # other deckies named in a message; the first decky's actual lists all


def _shared(ips: dict[str, str | None]) -> dict[str, list[str]]:
    """IPs held by more than one decky, each with its deckies' names (sorted)."""
    holders: dict[str, list[str]] = defaultdict(list)
    for name, ip in sorted(ips.items()):
        if ip is None or not ip.strip():
            continue
        holders[_normal(ip)].append(name)
    return {ip: names for ip, names in holders.items() if len(names) > 1}


# A dotted quad ipaddress would print back unchanged (no leading zeros): the
# usual case, which then skips the parse (15 us an address).
_CANONICAL_V4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                           r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")


def _normal(ip: str) -> str:
    ip = ip.strip()
    if _CANONICAL_V4.fullmatch(ip):
        return ip
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip


@hookimpl
def decnet_audit_rules():
    return [DuplicateIp]
