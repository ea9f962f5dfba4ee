"""``decnet-audit undo JOURNAL``: put back the before-images of a fix.

The same guards as ``--fix``: only the journal's own host may undo it (and
every statement is bound to the local host), only on the database it was
written for, under the same lock, in one transaction, and each row only if
it is still exactly what the fix left (otherwise it is a conflict and left
alone). An undo writes a journal of its own, so it can be undone in turn.

Exit codes: 0 every row is as before the fix; 1 something could not be put
back (a conflict, or a removed container, which no tool can bring back);
2 the rows were restored but this undo's own journal could not be marked
committed, or SIGINT/SIGTERM came after its COMMIT; 4 the journal is
unreadable, untrusted (not this user's, writable by others, seal broken, unless
``--accept-unsealed``) or belongs to another host or database; 6 nothing was written (lock held or
lost, transaction failed).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

from ..errors import SourceError, UsageError
from ..exitcode import ExitCode
from ..model import CONFLICT, REFUSED
from ..rule import FLEET_TABLE
from ..sources.locate import locate
from ..text import visible
from ..usage import Parser
from . import faults, interrupt, journal
from .apply import database_label, journaled, seal
from .lock import LOCK_TIMEOUT, FixLock, LockBusy
from .show import container_lines, heading, row_diff
from .sql import Write, WriteAborted

# What became of each journal entry; the last three leave a row not restored.
RESTORED, ALREADY, NOT_UNDOABLE = "restored", "already", "not undoable"
_BAD = (CONFLICT, REFUSED, NOT_UNDOABLE)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="decnet-audit undo",
                description="Restore the rows a `decnet-audit --fix` (or undo) run changed, "
                            "from its journal.",
                epilog="exit codes: 0 all restored, 1 something could not be restored "
                       "(conflict, removed container), 2 restored but its own journal not "
                       "marked committed or interrupted after the COMMIT, 4 usage error (bad "
                       "or untrusted journal, other host or database), 6 nothing written "
                       "(lock held or lost, transaction failed)")
    p.add_argument("journal", metavar="JOURNAL", help="the journal a --fix run printed")
    p.add_argument("--db", metavar="URL",
                   help="SQLAlchemy URL of DECNET's database (default: from DECNET_DB_* "
                        "variables, else sqlite ./decnet.db); must be the journal's database")
    p.add_argument("--host-uuid", metavar="ID",
                   help="this host's uuid (default: $DECNET_HOST_UUID or 'local')")
    p.add_argument("--dry-run", action="store_true", help="print what would be restored")
    p.add_argument("--journal", dest="own_journal", metavar="PATH",
                   help="where to write this undo's own journal")
    p.add_argument("--lock-timeout", metavar="SECONDS", type=float, default=LOCK_TIMEOUT,
                   help=f"wait this long for a running --fix or undo (default {LOCK_TIMEOUT:g})")
    p.add_argument("--accept-unsealed", action="store_true",
                   help="undo a journal whose seal cannot be checked (its journal key was "
                        "lost, or it predates seals) or fails; it must still be this user's "
                        "and writable by nobody else")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    return p


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None,
         env: os._Environ | dict | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    env = os.environ if env is None else env
    args = build_parser().parse_args(argv)
    source = journal.read(Path(args.journal), env, accept_unsealed=args.accept_unsealed)
    if source.unsealed:
        err.write(f"decnet-audit: warning: --accept-unsealed: {source.unsealed}; undoing it "
                  f"as it is (each row only if it still holds the journal's after-image)\n")
    # The same database and host as the audit that wrote the journal would
    # find with the same options: DECNET's settings, as zero-config finds them.
    found = locate(env, db=args.db, host_uuid=args.host_uuid)
    local, url = found.host_uuid, found.db_url
    if source.host_uuid != local:
        raise UsageError(f"refused: journal {args.journal} was written by host "
                         f"{source.host_uuid!r}; this host is {local!r} (--host-uuid). "
                         f"Only host {source.host_uuid!r} may undo it")
    if database_label(url) != source.database:
        raise UsageError(f"journal {args.journal} is for database {source.database}, not "
                         f"{database_label(url)}; pass --db with the journal's database")

    if source.status != journal.COMMITTED:
        out.write(f"note: {args.journal} is {source.status!r}: its COMMIT may not have happened; "
                  f"only rows still holding its after-image are restored\n")
    writes, lines = [], []
    for e in source.entries:
        if e.target != FLEET_TABLE or not e.undoable:
            lines.append((NOT_UNDOABLE, e, "a removed container cannot be brought back"))
        elif e.host_uuid != local:
            lines.append((REFUSED, e, f"row of host {e.host_uuid!r}; this host is {local!r}"))
        else:
            writes.append(Write(e.name, e.after, e.before, tag=e))

    if args.dry_run:
        _preview(writes, source, local, out)
        for status, e, why in lines:
            out.write(f"{status}: {e.target} {visible(e.name)}: {why}\n")
        out.write(f"{len(writes)} row{'s' if len(writes) != 1 else ''} to restore; nothing "
                  f"written\n")
        return ExitCode.OK

    fault = faults.from_env(env)
    if args.own_journal:
        journal.refuse_existing(Path(args.own_journal))
    path = Path(args.own_journal) if args.own_journal else \
        journal.default_path(env, local, "undo")
    own = journal.Journal("undo", local, source.database, path, undoes=str(args.journal),
                          env=env)
    try:
        with FixLock(url, local, args.lock_timeout,
                     on_wait=lambda msg: err.write(f"decnet-audit: {msg}\n")) as lock:
            outcome = journaled(own, url, writes, fault=fault,
                                busy_timeout=max(args.lock_timeout, 5.0),
                                still_locked=lock.still_held)
    except (LockBusy, SourceError, WriteAborted, OSError) as exc:
        err.write(f"decnet-audit: {_not_applied(exc, source.database, path)}\n")
        return ExitCode.NOT_APPLIED
    unsealed = seal(own)

    for w, _before, _after in outcome.applied:
        lines.append((RESTORED, w.tag, _restored(w)))
    for w in outcome.already:
        lines.append((ALREADY, w.tag, "already as before the fix; nothing written"))
    for w, current in outcome.conflicts:
        lines.append((CONFLICT, w.tag, "changed since the fix; left as it is"
                      if current is not None else "deleted since the fix; not re-created"))
    counts = Counter(status for status, _e, _why in lines)
    for status, e, why in lines:
        if not args.quiet or status in _BAD:
            host = f"({visible(e.host_uuid)}, {visible(e.name)})"
            out.write(f"{status}: {e.target} {host}: {why}\n")
    out.write(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to undo")
    out.write(f"; undo journal: {own.path}\n" if own.entries else "\n")
    bad = sum(counts[s] for s in _BAD)
    code = ExitCode.DRIFT if bad else ExitCode.OK
    stopped = interrupt.release()
    for line in ([f"warning: the undo journal {own.path} could not be marked committed "
                  f"({unsealed}); it stays 'prepared' and still holds every image"]
                 if unsealed else []) + (
            [f"{stopped} after the undo committed: its journal and summary were finished "
             f"first"] if stopped else []):
        err.write(f"decnet-audit: {line}\n")
        code = max(code, ExitCode.INCOMPLETE)
    return code


def _not_applied(exc: Exception, database: str, path: Path) -> str:
    """Why an undo wrote nothing, in one line."""
    if isinstance(exc, LockBusy):
        return f"{exc}; nothing was written"
    if isinstance(exc, SourceError):
        return f"undo: cannot use the database {database}: {exc}; nothing was written"
    if isinstance(exc, WriteAborted):
        return f"undo aborted: {exc}"
    return (f"undo aborted: cannot write its journal {path}: {exc.strerror or exc}; "
            f"nothing was written")


def _restored(w: Write) -> str:
    return {"insert": "re-inserted the deleted row", "delete": "deleted the inserted row",
            "update": "row put back as before the fix"}[w.op]


def _preview(writes: list[Write], source: journal.Journal, local: str, out: TextIO) -> None:
    for w in writes:
        out.write(heading(FLEET_TABLE, w.op, local, w.name, w.tag.rules) + "\n")
        for line in row_diff(w.expect, w.new):
            out.write("    " + line + "\n")
    for e in source.entries:
        if e.target != FLEET_TABLE:
            out.write(heading(e.target, "(cannot undo) remove", local, e.name, e.rules) + "\n")
            for line in container_lines(e.before or {}):
                out.write("    " + line + "\n")
