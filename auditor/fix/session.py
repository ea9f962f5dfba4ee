"""The ``--fix`` options and what they do to one command-line run.

``--fix`` holds the fix lock from before the sources are read until the
re-audit is done, so that concurrent runs are serialized and each fixes
what it saw. Exit codes under ``--fix``: 0 the re-audit found no unwaived
drift; 1 drift remains (skipped, refused, conflicting or report-only
findings); 2 the audit or re-audit is incomplete; 3 internal error;
4 usage error; 6 nothing was written because another run held the lock
(or lost it), the transaction failed (rolled back) or the journal could not
be written. A fix that committed exits 2 when its journal could not be
marked committed, or when SIGINT/SIGTERM came after the COMMIT (the
reports and the journal are still written; containers not yet removed and
the re-audit are skipped).
"""

from __future__ import annotations

import os
import shlex
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from ..decnet import LOCAL_HOST
from ..engine import Sources, audit, observe
from ..errors import SourceError
from ..exitcode import ExitCode
from ..model import CONFLICT, DB, DOCKER, REFUSED, SKIPPED, AuditResult, Check, Fleet
from ..outcome import summary_line
from ..rule import CONTAINER, Rule
from ..text import visible
from . import faults, interrupt
from .options import FixOptions, add_arguments  # noqa: F401 - re-exported, see .options
from .show import container_lines, heading, row_diff

# The fix machinery (and SQLAlchemy with it) is imported by --fix only: a
# read-only audit imports SQLAlchemy while the engine lists its containers
# (engine.observe), not before.
if TYPE_CHECKING:
    from ..config.policy import Policy
    from .apply import FixRun
    from .lock import FixLock
    from .plan import Plan

_SHOW_LEFT = 20  # remaining findings listed after the re-audit


class FixSession:
    """One run's fixing: the lock (``with``), then :meth:`run` after the audit."""

    def __init__(self, options: FixOptions, sources: Sources, err: TextIO,
                 env: os._Environ | dict = os.environ):
        self.options, self.sources, self.err, self.env = options, sources, err, env
        self.enabled = options.enabled
        self.dry_run = options.dry_run
        self.fault = faults.from_env(env)
        self.lock_error: str | None = None
        self.code: ExitCode | None = None  # the exit code, once the fix decided it
        self._lock: FixLock | None = None

    def __enter__(self) -> FixSession:
        if not self.enabled or self.dry_run:
            return self
        from .lock import FixLock

        lock = FixLock(self.sources.db_url, self.sources.host_uuid, self.options.lock_timeout,
                       on_wait=lambda msg: self.err.write(f"decnet-audit: {msg}\n"))
        try:
            lock.__enter__()
            self._lock = lock
        except SourceError as exc:
            # The audit will say the database cannot be read; nothing is fixed.
            self.lock_error = str(exc)
        self.fault("lock-held")
        return self

    def __exit__(self, *exc) -> None:
        if self._lock is not None:
            self._lock.__exit__(*exc)
            self._lock = None

    def run(self, fleet: Fleet, result: AuditResult, rules: list[Rule], console,
            policy: Policy, keep: Callable[[Check], bool] = lambda c: True) -> None:
        """Plan, show or apply, re-audit (the same rules, ``-k`` filter and
        waivers as the audit). Sets each finding's fix status and :attr:`code`
        (None: the audit's own exit code stands)."""
        if not self.enabled:
            return
        from . import journal
        from .apply import apply_plan, verify
        from .plan import Options, hold, plan, preview, write_time

        options = Options(unsafe=self.options.unsafe,
                          allow_empty_state=self.options.allow_empty_state,
                          live_docker=self.sources.docker_snapshot is None,
                          max_removals=self.options.max_removals,
                          confirm_removals=self.options.confirm_removals)
        subsecond = self.sources.db_url.lower().startswith("sqlite")
        the_plan = plan(result, fleet, rules, options, now=write_time(subsecond))
        if result.interrupted:
            hold(the_plan, "the audit was interrupted: nothing is fixed")
        elif self.lock_error is not None:
            hold(the_plan, f"cannot take the fix lock: {self.lock_error}")
        out = Printer(console)
        if self.dry_run:
            out.preview(the_plan)
            preview(the_plan)
            return
        path = self.options.journal or journal.default_path(self.env, fleet.host_uuid, "fix")
        busy = max(self.options.lock_timeout, 5.0)
        run = apply_plan(the_plan, fleet, db_url=self.sources.db_url, journal_path=path,
                         docker_host=self.sources.docker_host, fault=self.fault,
                         busy_timeout=busy, env=self.env,
                         still_locked=self._lock.still_held if self._lock else lambda: None)
        after = None
        stopped = interrupt.pending()
        if run.applied and stopped is None:
            t0 = time.perf_counter()
            boxes = any(p.target == CONTAINER for p in run.applied)
            # The state file is never written by a fix: only what was is read again.
            fresh = observe(self.sources, only=(DB, DOCKER) if boxes else (DB,), previous=fleet)
            after = audit(fresh, rules, keep=keep, waive=policy.waivers.apply)
            after.duration = time.perf_counter() - t0
            verify(the_plan, after)
        out.outcome(run, after, undo=undo_hint(run.journal, self.sources))
        if self.lock_error is not None:
            console.line(f"no fix: cannot take the fix lock: {visible(self.lock_error)}", "red")
        if run.aborted is not None:
            self.code = ExitCode.NOT_APPLIED
        elif after is not None:
            self.code = policy.exit_code(after)
        if run.aborted is None and (stopped is not None or run.journal_error is not None):
            if stopped is not None:
                console.line(f"interrupted ({stopped}) after the COMMIT: the changes above are "
                             f"committed; re-audit skipped", "red")
            self.code = max(self.code or ExitCode.OK, ExitCode.INCOMPLETE)


class Printer:
    """The fix section of the console output."""

    def __init__(self, console):
        self.c = console

    def preview(self, the_plan: Plan) -> None:
        todo = the_plan.rows + the_plan.containers
        self.c.line()
        self.c.rule_line("fix preview (dry run: nothing written)", colour="bold")
        for p in todo:
            host = (p.before or p.after or {}).get("host_uuid", "")
            self.c.line(heading(p.target, p.op, host, p.name, p.rules))
            lines = container_lines(_container_seen(p)) if p.target == CONTAINER \
                else row_diff(p.before, p.after)
            for line in lines:
                colour = {"-": "red", "+": "green"}.get(line[:1])
                self.c.line("    " + line, colour)
        ops = Counter(p.op for p in todo)
        held = self._not_planned(the_plan)
        self.c.line(f"{len(todo)} change{'s' if len(todo) != 1 else ''} planned"
                    + (f" ({_counted(ops)})" if ops else "")
                    + (f"; {held}" if held else "") + "; nothing written")

    def outcome(self, run: FixRun, after: AuditResult | None, undo: str = "") -> None:
        self.c.line()
        self.c.rule_line("fix", colour="bold")
        for p in run.plan.changes:
            if p.status in (CONFLICT, REFUSED) or (p.status == SKIPPED and run.aborted is None):
                self.c.line(f"{p.status}: {visible(p.describe())}: {visible(p.detail)}",
                            "yellow" if p.status == SKIPPED else "red")
        if run.aborted is not None:
            self.c.line(f"fix aborted: {visible(run.aborted)}", "red")
            if run.journal is not None:
                self.c.line(f"journal (commit outcome unknown): {run.journal}", "red")
            return
        ops = Counter(p.op for p in run.applied)
        held = self._not_planned(run.plan)
        if run.applied:
            self.c.line(f"applied {len(run.applied)} change{'s' if len(run.applied) != 1 else ''}"
                        f" ({_counted(ops)}) in one transaction; journal: {run.journal}", "green")
            self.c.line(f"undo with: {undo}")
            if held:
                self.c.line(f"not fixed: {held} (each finding below says why)", "yellow")
        else:
            self.c.line("nothing written" + (f" ({held})" if held else ""))
        if run.journal_error is not None:
            self.c.line(f"warning: the journal {run.journal} could not be marked committed "
                        f"({visible(run.journal_error)}); it stays 'prepared' and still holds "
                        f"every before-image: undo works from it", "red")
        if after is not None:
            left = [f for f in after.findings if not f.waived]
            self.c.line(f"re-audit after the fix: {summary_line(after)}",
                        "red" if left else "green")
            for f in left[:_SHOW_LEFT]:
                self.c.line(f"  still: {f.rule}::{visible(f.decky)} - {visible(f.message)}"
                            [: self.c.width * 2], "red")
            if len(left) > _SHOW_LEFT:
                self.c.line(f"  ... and {len(left) - _SHOW_LEFT} more")

    @staticmethod
    def _not_planned(the_plan: Plan) -> str:
        by = Counter(f.fix_status for f in the_plan.findings
                     if f.fix_status in (SKIPPED, REFUSED, CONFLICT))
        return ", ".join(f"{n} finding{'s' if n != 1 else ''} {s}" for s, n in sorted(by.items()))


def undo_hint(journal_path, sources: Sources) -> str:
    """The undo command to paste: the same database and host as this run
    (a journal refuses any other), quoted for a POSIX shell."""
    from ..sources.database import mask

    cmd = ["decnet-audit", "undo", str(journal_path), "--db", mask(sources.db_url)]
    if sources.host_uuid != LOCAL_HOST:
        cmd += ["--host-uuid", sources.host_uuid]
    text = shlex.join(cmd)
    if mask(sources.db_url) != sources.db_url:
        text += "   (put the database password back in place of ***)"
    return text


def _container_seen(p) -> dict:
    c = p.container
    return {"name": c.name, "id": c.id, "state": c.state,
            "labels": ",".join(f"{k}={v}" for k, v in sorted(c.labels.items()))}


def _counted(ops: Counter) -> str:
    return ", ".join(f"{n} {op}{'s' if n != 1 else ''}" for op, n in sorted(ops.items()))
