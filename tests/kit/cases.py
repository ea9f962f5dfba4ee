"""Rule test tables in the spirit of sqlfluff's ``std_rule_cases``: each case
is a fleet, the findings a rule must report on it (none: it passes) and the
changes its fix must propose. Pure: no Docker, database or file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from decnet_audit.model import Fleet
from decnet_audit.rule import Rule


@dataclass
class Case:
    id: str
    fleet: Fleet
    #: (decky, field) of every finding, in the rule's order; [] means "passes".
    findings: list[tuple[str, str | None]] = field(default_factory=list)
    #: Per finding, the changes its fix proposes as (op, name, values); the
    #: values compared are the ones given. None: the fix is not checked.
    fixes: list[list[tuple[str, str, dict[str, Any]]]] | None = None
    #: Every decky the rule examines (one check each); None: not checked.
    subjects: list[str] | None = None


def ids(cases: list[Case]) -> list[str]:
    return [c.id for c in cases]


def run_case(rule: Rule, case: Case) -> list:
    """Check the rule against the case; returns the findings for further asserts."""
    found = list(rule.check(case.fleet))
    assert [(f.decky, f.field) for f in found] == case.findings, [f.message for f in found]
    if case.subjects is not None:
        assert list(rule.subjects(case.fleet)) == case.subjects
    assert {f.decky for f in found} <= set(rule.subjects(case.fleet)), \
        "a finding's decky is a check of the rule"
    if case.fixes is not None:
        proposed = []
        for f, want in zip(found, case.fixes, strict=True):
            changes = rule.fix(f, case.fleet)
            proposed.append([(c.op, c.name, {k: c.values.get(k) for k in v})
                             for c, (_op, _name, v) in zip(changes, want, strict=False)]
                            if len(changes) == len(want) else [(c.op, c.name, c.values)
                                                               for c in changes])
        assert proposed == case.fixes
    return found
