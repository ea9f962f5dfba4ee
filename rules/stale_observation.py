"""stale-observation (DA007): DECNET's reconciler has stopped looking at Docker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from decnet_audit.decnet import FLEET_SINGLETONS, RECONCILER_INTERVAL, RUNNING
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, DOCKER, STATE
from decnet_audit.rule import Rule


class StaleObservation(Rule):
    """A row still says running long after its container died: DECNET's reconciler is not running.

    DECNET's reconciler ticks every 30 s (its default) and rewrites a row's
    ``state`` as soon as Docker shows otherwise. It writes ``last_seen`` only
    on such a change, so a steady, healthy row keeps its first ``last_seen``
    (or NULL) for ever: neither says anything about the reconciler, and
    neither is used here.

    What does: a decky in the state file whose row says ``running`` while one
    of its service containers has stopped (exited, dead), and Docker's own
    ``State.FinishedAt`` of that container and the row's ``updated_at`` are
    both more than ``max_age_minutes`` (default 10, twenty reconciler
    intervals) before now. A running reconciler would have written
    ``degraded`` or ``failed`` long since. Docker's listing does not carry
    ``FinishedAt``: decnet-audit inspects only those few containers (none on a
    healthy host). A removed container leaves no time behind, so it makes no
    claim here (docker-mismatch still reports it); neither does one that never
    ran. Times are naive UTC, as DECNET stores them.

    Report only: the cure is to restart DECNET's reconciler (``decnet
    reconcile``), which decnet-audit does not do; docker-mismatch offers the
    state a running reconciler would write.
    """

    id = "stale-observation"
    code = "DA007"
    severity = "medium"  # every state in the rows may be out of date
    needs = (STATE, DB, DOCKER)

    #: Minutes a dead container may stand behind a ``running`` row before the
    #: reconciler is taken for stopped.
    max_age_minutes: ClassVar[float] = 10
    options = ("max_age_minutes",)

    def __init__(self, max_age_minutes: float | None = None,
                 now: Callable[[], datetime] | None = None):
        if max_age_minutes is not None:
            if not max_age_minutes > 0:
                raise ValueError(f"max_age_minutes must be positive, got {max_age_minutes!r}")
            self.max_age_minutes = max_age_minutes
        # Naive UTC, as DECNET stores it; injectable so a test can fix "now".
        self._now = now or (lambda: datetime.now(UTC).replace(tzinfo=None))

    def subjects(self, fleet):
        return sorted(fleet.local_rows)

    def check(self, fleet):
        now = self._now()
        limit = timedelta(minutes=self.max_age_minutes)
        for name in fleet.paired:
            row = fleet.local_rows[name]
            if row.state != RUNNING:
                continue
            dead = []
            for s in fleet.local_deckies[name].services:
                c = fleet.service_container(name, s) if s not in FLEET_SINGLETONS else None
                died = parse_utc(c.finished_at) if c is not None and c.finished else None
                if died is not None and died.year > 1:  # year 1: it never ran
                    dead.append((died, c))
            if not dead:
                continue
            died, first = min(dead, key=lambda d: d[0])
            written = parse_utc(row.updated_at)
            since = max(died, written) if written is not None else died
            if now - since > limit:
                yield self.finding(
                    fleet, name,
                    f"row says 'running' but {first.name} has been {first.state} since "
                    f"{_at(died)} UTC ({_age(now - died)} ago; row written {_at(written)}): "
                    f"DECNET's reconciler, ticking every {RECONCILER_INTERVAL} s, would have "
                    f"changed the state by now; it is not running, or cannot reach Docker or "
                    f"the database; report only",
                    field="state",
                    expected=f"changed within {self.max_age_minutes:g} min of {_at(since)} UTC",
                    actual=row.state,
                )


def parse_utc(value: Any) -> datetime | None:
    """A naive UTC datetime from what a driver or Docker gave: MariaDB a
    datetime, SQLite (read through ``text()``) the stored string, Docker
    RFC 3339 with nanoseconds and ``Z``."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        head, dot, frac = text.partition(".")
        if dot:  # Docker's nanoseconds: fromisoformat takes at most six digits
            digits = len(frac) - len(frac.lstrip("0123456789"))
            text = f"{head}.{frac[:min(digits, 6)].ljust(6, '0')}{frac[digits:]}"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def _at(dt: datetime | None) -> str:
    return dt.isoformat(sep=" ", timespec="seconds") if dt is not None else "never"


def _age(age: timedelta) -> str:
    minutes = age.total_seconds() / 60
    if minutes >= 120:
        return f"{minutes / 60:.1f} h"
    return f"{minutes:.0f} min"


@hookimpl
def decnet_audit_rules():
    return [StaleObservation]
