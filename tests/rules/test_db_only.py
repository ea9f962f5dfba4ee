"""db-only (DA002): pass / fail / fix table on hand-built fleets."""

from __future__ import annotations

import pytest

from decnet_audit.rules.db_only import DbOnly
from kit.build import decky, fleet, row
from kit.cases import Case, ids, run_case

CASES = [
    Case("row-with-its-decky-passes", fleet([decky("a")], [row("a")]), subjects=["a"]),
    Case("row-without-a-decky", fleet([decky("a")], [row("a"), row("gone", "failed")]),
         findings=[("gone", None)], fixes=[[("delete", "gone", {})]], subjects=["a", "gone"]),
    Case("another-hosts-row-is-not-checked", fleet([], [row("x", host="peer")]), subjects=[]),
    Case("a-peer-entry-does-not-cover-a-local-row",
         fleet([decky("a", host="peer")], [row("a")]), findings=[("a", None)]),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_db_only(case):
    found = run_case(DbOnly(), case)
    assert all(f.fixable for f in found) and DbOnly.fix_safety == "unsafe"
