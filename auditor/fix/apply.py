"""Applying a fix plan: journal, one transaction, containers.

:func:`journaled` is the one journaled transaction, used by ``--fix``
(:func:`apply_plan`) and ``undo`` alike. Order matters: the rows go first,
in one transaction whose journal is on disk before the COMMIT; containers
are removed only once that commit succeeded; the journal is then rewritten
with what became of each. A run that applies nothing writes no journal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..decnet import NONKEY
from ..errors import SourceError
from ..model import CONFLICT, FIXED, PLANNED, SKIPPED, AuditResult, Fleet
from ..rule import CONTAINER, FLEET_TABLE
from ..sources import database
from . import containers, interrupt
from .journal import COMMITTED, Entry, Journal
from .plan import Plan, Planned, mark, settle
from .show import change_text
from .sql import Image, Outcome, Write, WriteAborted, apply

_QUIET = ("updated_at", "last_seen")  # stamped on every write; not news in a summary


@dataclass
class FixRun:
    plan: Plan
    journal: Path | None = None
    applied: list[Planned] = field(default_factory=list)
    aborted: str | None = None  # why nothing was written
    uncertain: bool = False  # the COMMIT failed: the journal is kept, audit again
    statements: int = 0
    journal_error: str | None = None  # committed, but the journal stayed "prepared"


def database_label(url: str) -> str:
    """How a journal names its database: masked, with the driver DECNET's
    async URL maps to, so ``undo`` can tell whether it is the same one."""
    try:
        return database.mask(database.parse_url(url))
    except SourceError:
        return database.mask(url)


def journaled(journal: Journal, db_url: str, writes: list[Write], *, extra: list[Entry] = (),
              fault: Callable[..., None], busy_timeout: float,
              still_locked: Callable[[], None] = lambda: None) -> Outcome:
    """The one journaled transaction of ``--fix`` and ``undo``: ``writes`` in
    one transaction whose journal (each written row's before- and
    after-image, then ``extra``) is on disk before the COMMIT. ``journal``'s
    host is the one every statement is bound to.

    Raises :class:`WriteAborted` (nothing committed, unless ``uncertain``: then
    the journal is kept for an operator) or :class:`OSError` (the journal
    could not be written, so nothing was); a journal that describes no
    transaction is removed (a file this run did not write never is). Once
    committed, :func:`seal` marks it so. ``still_locked`` raises if the fix
    lock was lost; it is asked before the first write and the COMMIT."""
    host = journal.host_uuid

    def before_commit(outcome: Outcome) -> None:
        journal.entries = [
            Entry(FLEET_TABLE, w.op, host, w.name, w.tag.rules, before=before, after=after)
            for w, before, after in outcome.applied
        ] + list(extra)
        if journal.entries:
            journal.write()
        interrupt.hold()  # committing now: an interrupt waits until the run has said so

    try:
        if not writes:
            outcome = Outcome()
            before_commit(outcome)
            return outcome
        return apply(db_url, host, writes, before_commit=before_commit, fault=fault,
                     busy_timeout=busy_timeout, still_locked=still_locked)
    except (WriteAborted, OSError) as exc:
        if not getattr(exc, "uncertain", False):
            journal.discard()  # it describes a transaction that never happened
        raise


def seal(journal: Journal) -> str | None:
    """Mark a journal whose transaction committed (and whose containers, if
    any, were dealt with) as committed; why that failed, if it did. The
    prepared journal on disk still holds every image, but says the COMMIT
    may not have happened: the operator must be told."""
    if journal.entries:
        journal.status = COMMITTED
        try:
            journal.write()
        except OSError as exc:
            return f"{exc.strerror or exc}"
    return None


def apply_plan(plan: Plan, fleet: Fleet, *, db_url: str, journal_path: Path,
               docker_host: str | None, fault: Callable[..., None],
               busy_timeout: float, env: Mapping[str, str] = os.environ,
               still_locked: Callable[[], None] = lambda: None) -> FixRun:
    run = FixRun(plan)
    rows, boxes = plan.rows, plan.containers
    if not rows and not boxes:
        return run
    host = fleet.host_uuid
    journal = Journal("fix", host, database_label(db_url), journal_path, env=env)
    box_entries = {p.name: _container_entry(p, host) for p in boxes}
    try:
        fault("audited")
        writes = [Write(p.name, p.before, p.after, tag=p) for p in rows]
        outcome = journaled(journal, db_url, writes, extra=list(box_entries.values()),
                            fault=fault, busy_timeout=busy_timeout, still_locked=still_locked)
    except (WriteAborted, OSError) as exc:
        run.aborted = str(exc) if isinstance(exc, WriteAborted) else \
            f"cannot write the journal {journal_path}: {exc.strerror or exc}; nothing was written"
        run.uncertain = getattr(exc, "uncertain", False)
        if run.uncertain and journal.created:
            run.journal = journal.path
        for p in (*rows, *boxes):
            p.status, p.detail = SKIPPED, f"not written: {run.aborted}"
        settle(plan)
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
    containers.remove(boxes, docker_host, stop=interrupt.pending)
    for p in boxes:
        box_entries[p.name].status, box_entries[p.name].detail = p.status, p.detail
        if p.status == FIXED:
            run.applied.append(p)
    if journal.entries:
        run.journal_error = seal(journal)
        run.journal = journal.path
    settle(plan)
    return run


def _container_entry(p: Planned, host: str) -> Entry:
    c = p.container
    seen = {"id": c.id, "name": c.name, "state": c.state,
            "labels": json.dumps(dict(c.labels), sort_keys=True)}
    return Entry(CONTAINER, "remove", host, p.name, p.rules, before=seen, after=None,
                 undoable=False, status=PLANNED, detail="to be removed after the commit")


def _show(value) -> str:
    return repr(value) if not hasattr(value, "isoformat") else str(value)


def _fixed_detail(p: Planned, before: Image | None, after: Image | None) -> str:
    key = f"({(after or before or {}).get('host_uuid')}, {p.name})"
    if p.op == "insert":
        return f"inserted row {key} with state {_show(after['state'])}"
    if p.op == "delete":
        return f"deleted row {key}; its before-image is in the journal"
    changed = [c for c in NONKEY if c not in _QUIET and before[c] != after[c]]
    parts = [change_text(c, before[c], after[c]) for c in changed]
    return f"updated row {key}: " + ("; ".join(parts) or "timestamps")


def _conflict_detail(p: Planned, current: Image | None) -> str:
    ours = ((p.after or p.before or {}).get("host_uuid"), p.name)
    theirs = ((current or {}).get("host_uuid"), (current or {}).get("name"))
    if current is not None and theirs != ours:
        return (f"the row ({theirs[0]}, {theirs[1]}) holds this key for the database, which "
                f"compares keys without case (MariaDB's collation); ({ours[0]}, {ours[1]}) was "
                f"not written; rename one of them by hand")
    if p.before is None:
        return (f"a row ({(current or {}).get('host_uuid')}, {p.name}) appeared since the audit "
                f"(another writer); left as it is")
    if current is None:
        return "the row was deleted since the audit (another writer); nothing written"
    changed = [c for c in NONKEY if p.before[c] != current[c]]
    parts = ", ".join(f"{c} {_show(p.before[c])} -> {_show(current[c])}" for c in changed)
    return f"the row changed since the audit ({parts}); not overwritten"


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
