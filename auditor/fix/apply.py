"""Applying a fix plan: journal, one transaction, containers, re-audit.

Order matters: the rows go first, in one transaction whose journal is on
disk before the COMMIT; containers are removed only once that commit
succeeded; the journal is then rewritten with what became of each. A run
that applies nothing writes no journal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError
from ..model import CONFLICT, DB, DOCKER, FIXED, PLANNED, SKIPPED, AuditResult, Fleet, SourceStatus
from ..rule import CONTAINER, FLEET_TABLE
from ..sources import database
from . import containers
from .journal import COMMITTED, Entry, Journal
from .plan import Plan, Planned, mark
from .sql import NONKEY, Image, Outcome, Write, WriteAborted, apply

_QUIET = ("updated_at", "last_seen")  # stamped on every write; not news in a summary


@dataclass
class FixRun:
    plan: Plan
    journal: Path | None = None
    applied: list[Planned] = field(default_factory=list)
    aborted: str | None = None  # why nothing was written
    uncertain: bool = False  # the COMMIT failed: the journal is kept, audit again
    statements: int = 0


def database_label(url: str) -> str:
    """How a journal names its database: masked, with the driver DECNET's
    async URL maps to, so ``undo`` can tell whether it is the same one."""
    try:
        return database.mask(database.parse_url(url))
    except SourceError:
        return database.mask(url)


def apply_plan(plan: Plan, fleet: Fleet, *, db_url: str, journal_path: Path,
               docker_host: str | None, fault: Callable[..., None],
               busy_timeout: float) -> FixRun:
    run = FixRun(plan)
    rows, boxes = plan.rows, plan.containers
    if not rows and not boxes:
        return run
    host = fleet.host_uuid
    journal = Journal("fix", host, database_label(db_url), journal_path)
    box_entries = {p.name: _container_entry(p, host) for p in boxes}

    def before_commit(outcome: Outcome) -> None:
        journal.entries = [
            Entry(FLEET_TABLE, w.op, host, w.name, w.tag.rules, before=before, after=after)
            for w, before, after in outcome.applied
        ] + list(box_entries.values())
        if journal.entries:
            journal.write()

    try:
        fault("audited")
        if rows:
            writes = [Write(p.name, p.before, p.after, tag=p) for p in rows]
            outcome = apply(db_url, host, writes, before_commit=before_commit, fault=fault,
                            busy_timeout=busy_timeout)
        else:
            outcome = Outcome()
            before_commit(outcome)
    except (WriteAborted, OSError) as exc:
        run.aborted = str(exc) if isinstance(exc, WriteAborted) else \
            f"cannot write the journal {journal_path}: {exc.strerror or exc}; nothing was written"
        run.uncertain = getattr(exc, "uncertain", False)
        if journal.path.exists():
            if run.uncertain:
                run.journal = journal.path
            else:
                journal.path.unlink()  # it describes a transaction that never happened
        for p in (*rows, *boxes):
            p.status, p.detail = SKIPPED, f"not written: {run.aborted}"
        _settle_findings(plan)
        return run

    run.statements = outcome.statements
    for w, before, after in outcome.applied:
        p = w.tag
        p.status, p.detail = FIXED, _fixed_detail(p, before, after)
        run.applied.append(p)
    for w, current in outcome.conflicts:
        w.tag.status, w.tag.detail = CONFLICT, _conflict_detail(w.tag, current)
    for w in outcome.already:
        w.tag.status, w.tag.detail = SKIPPED, ("the row was already as intended (changed by "
                                               "another writer); nothing written")
    containers.remove(boxes, docker_host)
    for p in boxes:
        box_entries[p.name].status, box_entries[p.name].detail = p.status, p.detail
        if p.status == FIXED:
            run.applied.append(p)
    if journal.entries:
        journal.status = COMMITTED
        try:
            journal.write()
        except OSError:
            pass  # the prepared journal on disk already holds every before-image
        run.journal = journal.path
    _settle_findings(plan)
    return run


def _container_entry(p: Planned, host: str) -> Entry:
    c = p.container
    seen = {"id": c.id, "name": c.name, "state": c.state,
            "labels": json.dumps(dict(c.labels), sort_keys=True)}
    return Entry(CONTAINER, "remove", host, p.name, p.rules, before=seen, after=None,
                 undoable=False, status=PLANNED, detail="to be removed after the commit")


def _settle_findings(plan: Plan) -> None:
    for p in plan.changes:
        if p.status is not None:
            for f in p.findings:
                mark(f, p.status, p.detail or "")


def _show(value) -> str:
    return repr(value) if not hasattr(value, "isoformat") else str(value)


def _fixed_detail(p: Planned, before: Image | None, after: Image | None) -> str:
    key = f"({(after or before or {}).get('host_uuid')}, {p.name})"
    if p.op == "insert":
        return f"inserted row {key} with state {_show(after['state'])}"
    if p.op == "delete":
        return f"deleted row {key}; its before-image is in the journal"
    changed = [c for c in NONKEY if c not in _QUIET and before[c] != after[c]]
    parts = [f"{c} {_show(before[c])} -> {_show(after[c])}" for c in changed]
    return f"updated row {key}: " + ("; ".join(parts) or "timestamps")


def _conflict_detail(p: Planned, current: Image | None) -> str:
    if p.before is None:
        return (f"a row ({(current or {}).get('host_uuid')}, {p.name}) appeared since the audit "
                f"(another writer); left as it is")
    if current is None:
        return "the row was deleted since the audit (another writer); nothing written"
    changed = [c for c in NONKEY if p.before[c] != current[c]]
    parts = ", ".join(f"{c} {_show(p.before[c])} -> {_show(current[c])}" for c in changed)
    return f"the row changed since the audit ({parts}); not overwritten"


def reobserve(fleet: Fleet, db_url: str, docker_host: str | None, docker: bool) -> Fleet:
    """The fleet after the fix: the database read again (and Docker, when
    containers were removed); the state file is never written by a fix."""
    from ..sources.docker import read_engine

    sources = dict(fleet.sources)
    rows, hosts = None, None
    try:
        rows, hosts = database.read_fleet_table(db_url)
        sources[DB] = SourceStatus(DB, True, sources[DB].where, f"{len(rows)} rows (re-read)")
    except SourceError as exc:
        sources[DB] = SourceStatus(DB, False, sources[DB].where, str(exc))
    found = fleet.containers
    if docker:
        try:
            found = read_engine(docker_host)
            sources[DOCKER] = SourceStatus(DOCKER, True, sources[DOCKER].where,
                                           f"{len(found)} containers (re-read)")
        except SourceError as exc:
            found = None
            sources[DOCKER] = SourceStatus(DOCKER, False, sources[DOCKER].where, str(exc))
    return Fleet(host_uuid=fleet.host_uuid, deckies=fleet.deckies, rows=rows,
                 containers=found, enrolled_hosts=hosts, sources=sources)


def verify(plan: Plan, after: AuditResult) -> None:
    """A fix counts as fixed only if the re-audit no longer reports its finding."""
    remaining = {(f.rule, f.decky, f.host_uuid, f.field): f for f in after.findings
                 if not f.waived}
    for f in plan.findings:
        if f.fix_status != FIXED:
            continue
        still = remaining.get((f.rule, f.decky, f.host_uuid, f.field))
        if still is not None:
            mark(f, CONFLICT, f"{f.fix_detail}, but the re-audit still reports: {still.message}")
