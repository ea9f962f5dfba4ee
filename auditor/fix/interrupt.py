"""SIGINT and SIGTERM around a fix that has reached its COMMIT.

Until the journal of a fix is on disk, an interrupt rolls the transaction
back and nothing is written. From then on the run is committing: an
interrupt must not leave the COMMIT unreported, the journal ``prepared`` or
the reports unwritten. :func:`hold` makes both signals wait (recorded, not
raised) until :func:`release`; the run then finishes what tells the operator
what happened, skips what only adds to it (container removals, the
re-audit) and exits as interrupted.

SIGTERM is otherwise turned into ``KeyboardInterrupt`` by :func:`install`,
so a stopped run still says so in one line instead of dying silently.
Without :func:`installed` (a library caller), :func:`hold` changes nothing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

_held: list[int] = []  # signals received while held
_holding = False


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _as_interrupt(signum, _frame):
    if _holding:
        _held.append(signum)
        return
    raise KeyboardInterrupt(_name(signum))


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Route SIGINT and SIGTERM through this module while inside (main
    thread only; the previous handlers come back on the way out)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig, old in saved.items():
        if old in (signal.default_int_handler, signal.SIG_DFL):
            signal.signal(sig, _as_interrupt)
    try:
        yield
    finally:
        release()
        for sig, old in saved.items():
            signal.signal(sig, old)


def hold() -> None:
    """From now on, an interrupt is recorded instead of raised."""
    global _holding
    _holding = True


def release() -> str | None:
    """Stop holding; the name of the first signal received meanwhile, if any."""
    global _holding
    _holding = False
    got = _name(_held[0]) if _held else None
    _held.clear()
    return got


def pending() -> str | None:
    """The signal received while held, if any (it is still held)."""
    return _name(_held[0]) if _held else None
