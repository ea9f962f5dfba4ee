"""The ``--fix`` options of the command line, and what they ask of a run.

Kept apart from :mod:`.session` so that ``--help`` builds them without
importing the fix machinery (and SQLAlchemy with it).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

LOCK_TIMEOUT = 30.0  # seconds a --fix or undo waits for another one to finish
MAX_REMOVALS = 10  # containers one run removes without --confirm-removals (see guards)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("fixing (see --list-rules for which fixes are safe)")
    g.add_argument("--fix", action="store_true",
                   help="apply the safe fixes, in one transaction, then audit again")
    g.add_argument("--unsafe-fixes", action="store_true",
                   help="with --fix: apply the unsafe fixes too (deleting rows, removing "
                        "containers)")
    g.add_argument("--dry-run", action="store_true",
                   help="with --fix: print each change (row before and after), write nothing")
    g.add_argument("--diff", action="store_true",
                   help="print the changes --fix would make, write nothing (--fix --dry-run)")
    g.add_argument("--journal", metavar="PATH",
                   help="with --fix: write the journal (before/after of every changed row, "
                        "for `decnet-audit undo`) to PATH (default: $DECNET_AUDIT_JOURNAL_DIR "
                        "or ~/.local/state/decnet-audit/journal/)")
    g.add_argument("--lock-timeout", metavar="SECONDS", type=float, default=LOCK_TIMEOUT,
                   help=f"with --fix: wait this long for another --fix or undo to finish "
                        f"(default {LOCK_TIMEOUT:g})")
    g.add_argument("--max-removals", metavar="N", type=int, default=MAX_REMOVALS,
                   help=f"with --fix --unsafe-fixes: remove at most N containers, and no more "
                        f"than 10%% of this deployment's unless they are one decky's, without "
                        f"--confirm-removals (default {MAX_REMOVALS})")
    g.add_argument("--confirm-removals", action="store_true",
                   help="with --fix --unsafe-fixes: remove containers beyond --max-removals")
    g.add_argument("--allow-empty-state", action="store_true",
                   help="with --fix --unsafe-fixes: allow deleting rows and removing containers "
                        "when the state file lists no decky for this host (missing or empty)")


@dataclass(frozen=True)
class FixOptions:
    """What the command line asked of ``--fix`` (all off: no fixing)."""

    enabled: bool = False  # --fix or --diff
    dry_run: bool = False  # --dry-run or --diff
    unsafe: bool = False  # --unsafe-fixes
    allow_empty_state: bool = False
    max_removals: int = MAX_REMOVALS
    confirm_removals: bool = False
    journal: Path | None = None
    lock_timeout: float = LOCK_TIMEOUT

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> FixOptions:
        """The options of a parsed command line, once they make sense together."""
        fixing = args.fix or args.diff
        for flag, given in (("--unsafe-fixes", args.unsafe_fixes), ("--dry-run", args.dry_run),
                            ("--journal", args.journal), ("--allow-empty-state",
                                                          args.allow_empty_state),
                            ("--confirm-removals", args.confirm_removals)):
            if given and not fixing:
                raise UsageError(f"{flag} needs --fix")
        if args.journal and (args.dry_run or args.diff):
            raise UsageError("--journal: a dry run writes nothing, not even a journal")
        if args.max_removals < 0:
            raise UsageError("--max-removals must be 0 or more containers")
        if args.lock_timeout < 0:
            raise UsageError("--lock-timeout must be 0 or more seconds")
        if fixing and getattr(args, "write_baseline", None):
            raise UsageError("--write-baseline records drift as accepted; it cannot be "
                             "combined with --fix")
        if args.journal:
            from . import journal  # only for a named journal: --help stays light

            journal.refuse_existing(Path(args.journal))
        return cls(enabled=bool(fixing), dry_run=bool(args.dry_run or args.diff),
                   unsafe=bool(args.unsafe_fixes), allow_empty_state=bool(args.allow_empty_state),
                   max_removals=args.max_removals, confirm_removals=bool(args.confirm_removals),
                   journal=Path(args.journal) if args.journal else None,
                   lock_timeout=args.lock_timeout)
