"""duplicate-ip (DA008): pass / fail table on hand-built fleets. Its runs on
SQLite and MariaDB are in test_duplicate_ip_cli.py."""

from __future__ import annotations

import pytest

from decnet_audit.rules.duplicate_ip import DuplicateIp
from kit.build import decky, fleet, row
from kit.cases import Case, ids, run_case

CASES = [
    Case("distinct-ips-pass", fleet([decky("a"), decky("b")], [row("a"), row("b")])),
    Case("two-state-entries-share-one",
         fleet([decky("a", ip="10.0.0.1"), decky("b", ip="10.0.0.1")], []),
         findings=[("a", "ip"), ("b", "ip")], fixes=[[], []]),
    Case("two-rows-share-one", fleet([], [row("a", ip="10.0.0.1"), row("b", ip="10.0.0.1")]),
         findings=[("a", "decky_ip"), ("b", "decky_ip")]),
    Case("same-address-written-two-ways",
         fleet([decky("a", ip="2001:db8::1"), decky("b", ip="2001:DB8:0::1")], []),
         findings=[("a", "ip"), ("b", "ip")]),
    Case("another-hosts-decky-does-not-count",
         fleet([decky("a", ip="10.0.0.1"), decky("p", ip="10.0.0.1", host="peer")],
               [row("q", host="peer", ip="10.0.0.1")])),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_duplicate_ip(case):
    found = run_case(DuplicateIp(), case)
    assert not any(f.fixable for f in found), "report only"


def test_duplicate_ip_within_each_record_of_this_host_only():
    f = fleet(
        deckies=[decky("a", ip="10.0.0.1"), decky("b", ip="10.0.0.1"),
                 decky("c", ip="2001:db8::1"), decky("d", ip="2001:DB8:0::1"),
                 decky("e", ip="10.0.0.9"), decky("theirs", ip="10.0.0.9", host="peer-1")],
        rows=[row("a", ip="10.0.0.1"), row("b", ip="10.0.0.2"),
              row("peer", host="peer-1", ip="10.0.0.2")],
    )
    found = list(DuplicateIp().check(f))
    assert sorted((x.decky, x.field) for x in found) == [
        ("a", "ip"), ("b", "ip"), ("c", "ip"), ("d", "ip")]
    assert all("peer" not in x.message and "theirs" not in x.message for x in found)
