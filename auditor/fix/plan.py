"""``--fix``: from findings to changes, and the engine's guards on them.

Rules only *describe* a change (:class:`decnet_audit.rule.Change`); this
module decides whether it may happen and turns it into whole-row writes:

* **scope**: a change aimed at another host's row, at the row's key, at an
  unknown column, or at a container that is not DECNET's is refused, and
  reported, whatever rule asked for it (:mod:`decnet_audit.fix.guards`);
* **observation**: no fix runs when the state file was not read, and a rule's
  fix does not run when a source of its ``needs`` or ``fix_needs`` was not
  read (it would write a guess);
* **safety**: unsafe fixes need ``--unsafe-fixes``; removing a container is
  always unsafe; deleting rows or removing containers of a host whose state
  file lists no decky (missing, empty, or another host's) needs
  ``--allow-empty-state`` as well;
* **one change per row**: fixes of several rules on one row merge into one
  update, and contradicting ones are refused.

Applying the plan is :func:`decnet_audit.fix.apply.apply_plan`. Every
finding's ``fix_status`` is set here, through :func:`mark`.
"""

from __future__ import annotations

import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..decnet import KEY, NONKEY
from ..model import (
    CONFLICT,
    DB,
    DOCKER,
    FIXED,
    PLANNED,
    REFUSED,
    SKIPPED,
    STATE,
    AuditResult,
    Container,
    Finding,
    Fleet,
)
from ..rule import CONTAINER, FLEET_TABLE, NOW, Change, Rule
from .guards import guard_empty_state, guard_mass_removal, refusal
from .options import MAX_REMOVALS
from .sql import Image, image

_WORST = {REFUSED: 4, CONFLICT: 3, SKIPPED: 2, PLANNED: 1, FIXED: 0}
_SOURCE_NAME = {STATE: "the state file", DB: "the database", DOCKER: "Docker"}


@dataclass
class Options:
    unsafe: bool = False  # --unsafe-fixes
    allow_empty_state: bool = False  # --allow-empty-state
    live_docker: bool = True  # False when Docker was read from a snapshot
    max_removals: int = MAX_REMOVALS  # --max-removals
    confirm_removals: bool = False  # --confirm-removals


@dataclass
class Planned:
    """One row or container to change, and the findings it answers."""

    target: str
    op: str
    name: str
    findings: list[Finding]
    rules: list[str]
    values: dict[str, Any] = field(default_factory=dict)
    before: Image | None = None  # the row the audit saw
    after: Image | None = None  # the row to leave (NOW already resolved)
    container: Container | None = None
    status: str | None = None
    detail: str | None = None

    def describe(self) -> str:
        if self.target == CONTAINER:
            return f"remove container {self.name}"
        host = (self.before or self.after or {}).get("host_uuid")
        return f"{self.op} row ({host}, {self.name})"


@dataclass
class Plan:
    now: datetime
    changes: list[Planned]
    findings: list[Finding]  # every finding of the audit, with its fix status

    @property
    def rows(self) -> list[Planned]:
        return [p for p in self.changes if p.target == FLEET_TABLE and p.status is None]

    @property
    def containers(self) -> list[Planned]:
        return [p for p in self.changes if p.target == CONTAINER and p.status is None]


def write_time(subsecond: bool = False) -> datetime:
    """The time of a fix's writes, as DECNET stores its own: naive UTC, with
    microseconds on SQLite (SQLAlchemy's text keeps them), whole seconds on
    MariaDB (its DATETIME keeps no fraction; the journal must hold exactly
    what the row holds)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now if subsecond else now.replace(microsecond=0)


def mark(finding: Finding, status: str, detail: str) -> None:
    """Give ``finding`` ``status`` unless it already has a worse one."""
    if finding.fix_status is None or _WORST[status] > _WORST[finding.fix_status]:
        finding.fix_status, finding.fix_detail = status, detail
    finding.fixed = finding.fix_status == FIXED


def settle(the_plan: Plan) -> None:
    """Hand each decided change's status down to the findings it answers."""
    for p in the_plan.changes:
        if p.status is not None:
            for f in p.findings:
                mark(f, p.status, p.detail or "")


def hold(the_plan: Plan, why: str) -> None:
    """Nothing of the plan is to be applied (an interrupted audit, no lock)."""
    for p in the_plan.changes:
        if p.status is None:
            p.status, p.detail = SKIPPED, why
    settle(the_plan)


def preview(the_plan: Plan) -> None:
    """A dry run: every finding a change would answer is PLANNED."""
    for p in the_plan.rows + the_plan.containers:
        for f in p.findings:
            if f.fix_status is None:
                mark(f, PLANNED, f"dry run: would {p.describe()}")


def plan(result: AuditResult, fleet: Fleet, rules: list[Rule], options: Options,
         now: datetime | None = None) -> Plan:
    """Ask each rule for the changes that converge its findings and keep
    those the guards allow. Nothing is written."""
    now = now or write_time()
    by_id = {r.id: r for r in rules}
    wanted: dict[tuple[str, str], list[tuple[Change, Finding]]] = defaultdict(list)
    findings = result.findings
    for finding in findings:
        finding.fix_status = finding.fix_detail = None
        finding.fixed = False
        changes = _changes_for(finding, by_id.get(finding.rule), fleet, options)
        for change in changes:
            wanted[(change.target, change.name)].append((change, finding))
    planned = [p for key in sorted(wanted) if (p := _merge(wanted[key], fleet, now))]
    guard_empty_state(planned, fleet, options)
    guard_mass_removal(planned, fleet, options)
    the_plan = Plan(now, planned, findings)
    settle(the_plan)
    return the_plan


def _changes_for(finding: Finding, rule: Rule | None, fleet: Fleet,
                 options: Options) -> list[Change]:
    """The rule's changes for one finding, once every guard that does not
    need the other findings has let them through; [] with the finding marked
    otherwise."""
    if finding.waived:
        mark(finding, SKIPPED, f"waived ({finding.waiver_reason}): not fixed")
        return []
    if rule is None or rule.fix_safety is None or not finding.fixable:
        mark(finding, SKIPPED, "report only: no fix from this host")
        return []
    if not fleet.observed(STATE):
        mark(finding, SKIPPED, f"no fix runs: the state file was not read "
                               f"({fleet.sources[STATE].detail})")
        return []
    missing = [s for s in (*rule.needs, *rule.fix_needs) if not fleet.observed(s)]
    if missing:
        why = "; ".join(f"{_SOURCE_NAME.get(s, s)} was not read ({fleet.sources[s].detail})"
                        if s in fleet.sources else f"{s} was not read" for s in missing)
        mark(finding, SKIPPED, f"not fixed: {why}; the fix would write a guess")
        return []
    if rule.fix_safety != "safe" and not options.unsafe:
        mark(finding, SKIPPED, "unsafe fix: pass --unsafe-fixes to apply it "
                               f"(see decnet-audit --list-rules; {rule.id}'s documentation)")
        return []
    try:
        changes = list(rule.fix(finding, fleet) or ())
    except Exception as exc:  # noqa: BLE001 - a broken fix must not sink the others
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        mark(finding, SKIPPED, f"the rule's fix crashed: {tb}")
        return []
    if not changes:
        mark(finding, SKIPPED, "the rule proposed no change")
        return []
    for change in changes:
        why = refusal(change, fleet, options)
        if why is not None:
            status, detail = why
            mark(finding, status, detail)
            return []  # all of a finding's changes, or none of them
    return changes


def _merge(wanted: list[tuple[Change, Finding]], fleet: Fleet, now: datetime) -> Planned | None:
    """One planned change per row or container from every rule's wish for it."""
    first = wanted[0][0]
    findings = list({id(f): f for _c, f in wanted}.values())  # findings are unhashable
    rules = sorted({f.rule for f in findings})
    p = Planned(first.target, first.op, first.name, findings, rules)
    ops = {c.op for c, _f in wanted}
    if len(ops) > 1:
        p.status, p.detail = REFUSED, (f"refused: contradicting fixes on {first.name} "
                                       f"({' vs '.join(sorted(ops))} from {', '.join(rules)})")
        return p
    values: dict[str, Any] = {}
    for change, _finding in wanted:
        for col, value in change.values.items():
            if col in values and values[col] != value:
                p.status, p.detail = REFUSED, (f"refused: fixes on {first.name} disagree on "
                                               f"{col} ({', '.join(rules)})")
                return p
            values[col] = value
    p.values = values
    if first.target == CONTAINER:
        p.container = fleet.containers_by_name[first.name]
        return p
    resolved = {k: (now if v is NOW else v) for k, v in values.items()}
    row = fleet.local_rows.get(first.name)
    p.before = image(row) if row is not None else None
    if first.op == "insert":
        p.after = {c: None for c in (*KEY, *NONKEY)}
        p.after.update(host_uuid=fleet.host_uuid, name=first.name, **resolved)
        p.after["updated_at"] = now
    elif first.op == "update":
        if all(p.before[c] == v for c, v in resolved.items()):
            p.status, p.detail = SKIPPED, "the row already holds these values"
            return p
        p.after = {**p.before, **resolved, "updated_at": now}
    return p
