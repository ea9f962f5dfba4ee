"""stale-observation (DA007): DECNET's reconciler has not looked at Docker lately."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from decnet_audit.decnet import service_names
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, Fleet, Row
from decnet_audit.rule import Rule


class StaleObservation(Rule):
    """Row of this host was not observed recently: DECNET's reconciler is not running.

    DECNET's reconciler sets a row's ``last_seen`` each time it looks at
    Docker for that decky. A row of this host is reported when

    * its ``last_seen`` is more than ``max_age_minutes`` (default 10) before
      now, or
    * its ``last_seen`` is NULL while a container of the decky (its base
      container or a service container) is running: the decky runs but was
      never observed. Checked only when Docker was read.

    DECNET stores ``last_seen`` as a naive UTC datetime; it is compared with
    the current UTC time (a value carrying a UTC offset is converted first).
    A value that is not a datetime at all is reported too. A ``last_seen`` in
    the future is not stale.

    The row's ``state`` then says what was true when last observed, not now:
    the dashboard can show a dead honeypot as running. Report only: the cure
    is to restart DECNET's reconciler, which decnet-audit does not do.
    """

    id = "stale-observation"
    code = "DA007"
    severity = "medium"  # every state in the rows may be out of date
    needs = (DB,)

    #: Minutes after which a ``last_seen`` is stale. Set per run with
    #: ``StaleObservation(max_age_minutes=...)``.
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
        for name in self.subjects(fleet):
            row = fleet.local_rows[name]
            if row.last_seen is None:
                running = _running_containers(fleet, row)
                if running:
                    yield self.finding(
                        fleet, name,
                        f"last_seen is NULL but {', '.join(running)} "
                        f"{'is' if len(running) == 1 else 'are'} running: DECNET's reconciler "
                        f"has never observed this decky (is it running?); report only",
                        field="last_seen",
                        expected="a last_seen once the decky's containers run",
                        actual=None,
                    )
                continue
            seen = parse_utc(row.last_seen)
            if seen is None:
                yield self.finding(
                    fleet, name,
                    f"last_seen {row.last_seen!r} is not a datetime; report only",
                    field="last_seen", expected="a UTC datetime", actual=str(row.last_seen),
                )
                continue
            age = now - seen
            if age > limit:
                yield self.finding(
                    fleet, name,
                    f"last_seen {seen.isoformat(sep=' ')} UTC is {_minutes(age)} old "
                    f"(threshold {self.max_age_minutes:g} min): DECNET's reconciler is not "
                    f"running, or cannot reach Docker; report only",
                    field="last_seen",
                    expected=f"within {self.max_age_minutes:g} minutes of "
                             f"{now.isoformat(sep=' ', timespec='seconds')} UTC",
                    actual=seen.isoformat(sep=" "),
                )


def parse_utc(value: Any) -> datetime | None:
    """A naive UTC datetime from what a driver returned: MariaDB gives a
    datetime, SQLite (read through ``text()``) the stored string."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def _minutes(age: timedelta) -> str:
    minutes = age.total_seconds() / 60
    if minutes >= 120:
        return f"{minutes / 60:.1f} h"
    return f"{minutes:.0f} min"


def _running_containers(fleet: Fleet, row: Row) -> list[str]:
    if fleet.containers is None:
        return []  # not observed: no claim either way
    candidates = [fleet.containers_by_name.get(row.name)]
    candidates += [fleet.service_container(row.name, s) for s in service_names(row.services)]
    return sorted({c.name for c in candidates if c is not None and c.running})


@hookimpl
def decnet_audit_rules():
    return [StaleObservation]
