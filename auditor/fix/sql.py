"""Writing ``fleet_deckies``: one transaction, batched, every write conditional.

This is the only module that writes to DECNET's database. Whatever a rule
intended, every statement here binds ``host_uuid`` to the local host given
by the engine, never to a value taken from a rule or a journal.

A run is: lock the target rows (``SELECT ... FOR UPDATE`` on MariaDB; the
whole database with ``BEGIN IMMEDIATE`` on SQLite), compare each with the
row the audit saw, drop the ones that changed (conflicts), then one
``executemany`` per kind of statement, each still guarded by the full
before-image in its ``WHERE``, then the caller's ``before_commit`` (the
journal), then ``COMMIT``. Any failure before the commit rolls everything
back.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ..decnet import COLUMNS, NONKEY
from ..sources import database

CHUNK = 500  # names per SELECT ... IN (...): far below every driver's limit
LOCK_WAIT = 10  # seconds MariaDB waits for a row DECNET's reconciler is writing

Image = dict[str, Any]  # a whole row: column -> value exactly as the driver returns it


class WriteAborted(Exception):
    """The transaction did not commit. ``uncertain`` when the failure hit the
    COMMIT itself, so the server may or may not have applied it."""

    def __init__(self, message: str, uncertain: bool = False):
        super().__init__(message)
        self.uncertain = uncertain


@dataclass
class Write:
    """Leave row ``(local host, name)`` as ``new`` if it is still ``expect``.

    ``expect`` None: the row must not exist (insert); ``new`` None: delete."""

    name: str
    expect: Image | None
    new: Image | None
    tag: Any = None  # the caller's handle on this write

    @property
    def op(self) -> str:
        if self.expect is None:
            return "insert"
        return "delete" if self.new is None else "update"


@dataclass
class Outcome:
    applied: list[tuple[Write, Image | None, Image | None]] = field(default_factory=list)
    conflicts: list[tuple[Write, Image | None]] = field(default_factory=list)  # current row
    already: list[Write] = field(default_factory=list)  # the row already is ``new``
    statements: int = 0


def same(a: Image | None, b: Image | None) -> bool:
    """Rows compare column by column, as values (``None`` is no row)."""
    if a is None or b is None:
        return a is b
    return all(a.get(c) == b.get(c) for c in COLUMNS)


def image(row: Any) -> Image:
    """A ``Row`` or a result row as a whole-row dict."""
    if hasattr(row, "_mapping"):
        return {c: row._mapping[c] for c in COLUMNS}
    return {c: getattr(row, c) for c in COLUMNS}


def write_engine(url: str, busy_timeout: float) -> Engine:
    engine = database.connect(url)  # never creates a SQLite file
    if engine.dialect.name == "sqlite":
        ms = int(busy_timeout * 1000)

        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_connection, _record):
            # pysqlite's own BEGIN is DEFERRED; ours must be IMMEDIATE, so that
            # the write lock is taken before the rows are compared.
            dbapi_connection.isolation_level = None
            dbapi_connection.execute(f"PRAGMA busy_timeout = {ms}")

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def apply(
    url: str,
    host_uuid: str,
    writes: list[Write],
    *,
    before_commit: Callable[[Outcome], None] = lambda outcome: None,
    fault: Callable[[str, Connection], None] = lambda stage, conn: None,
    busy_timeout: float = 5.0,
    still_locked: Callable[[], None] = lambda: None,
) -> Outcome:
    """Apply ``writes`` in one transaction. Conflicting rows are left alone and
    reported; everything else commits together or not at all. ``still_locked``
    raises :class:`WriteAborted` if the run's fix lock was lost; it is asked
    before the first write and again just before the COMMIT."""
    for w in writes:
        for img in (w.expect, w.new):
            if img is not None and (img.get("host_uuid") != host_uuid or img.get("name") != w.name):
                # The planner refuses these; this is the last line of the scope guard.
                raise ValueError(f"write for {img.get('host_uuid')!r}/{img.get('name')!r} "
                                 f"outside host {host_uuid!r}")
    engine = write_engine(url, busy_timeout)
    mysql = engine.dialect.name != "sqlite"
    outcome = Outcome()
    committing = False
    try:
        with engine.connect() as conn:
            try:
                if mysql:
                    conn.execute(text(f"SET SESSION innodb_lock_wait_timeout = {LOCK_WAIT}"))
                shadows: dict[str, Image] = {}
                current = _select(conn, host_uuid, [w.name for w in writes], lock=mysql,
                                  shadows=shadows)
                outcome.statements += 1
                fault("locked", conn)
                todo = []
                for w in writes:
                    now = current.get(w.name)
                    if now is None and w.name in shadows:
                        outcome.conflicts.append((w, shadows[w.name]))
                    elif same(now, w.expect):
                        todo.append(w)
                    elif same(now, w.new):
                        outcome.already.append(w)
                    else:
                        outcome.conflicts.append((w, now))
                if todo:
                    still_locked()
                _run_batches(conn, host_uuid, todo, mysql, outcome, fault)
                after = _select(conn, host_uuid, [w.name for w in todo], lock=False)
                outcome.applied = [(w, current.get(w.name), after.get(w.name)) for w in todo]
                for w, _before, got in outcome.applied:
                    if (got is None) != (w.new is None):
                        raise WriteAborted(f"row ({host_uuid}, {w.name}) is not as written "
                                           f"after the {w.op}; nothing was written")
                before_commit(outcome)
                fault("journaled", conn)
                if todo:
                    still_locked()
                committing = True
                conn.commit()
                fault("committed")
            except BaseException:
                if not committing:
                    _rollback(conn)
                raise
    except WriteAborted:
        raise
    except SQLAlchemyError as exc:
        why = database.describe_error(exc, engine.url)
        if committing:
            raise WriteAborted(f"the COMMIT failed ({why}): the database may or may not "
                               f"hold the changes; audit again", uncertain=True) from exc
        lost = getattr(exc, "connection_invalidated", False) or "Lost connection" in why \
            or "server has gone away" in why
        if lost:
            why = f"the database connection was lost during the transaction ({why})"
        raise WriteAborted(f"{why}; the transaction was rolled back: nothing was written") \
            from exc
    except OSError as exc:
        raise WriteAborted(f"{exc.strerror or exc}"
                           f"{f': {exc.filename}' if exc.filename else ''}; the transaction "
                           f"was rolled back: nothing was written") from exc
    except Exception as exc:  # noqa: BLE001 - anything else still means "rolled back"
        raise WriteAborted(f"{type(exc).__name__}: {exc}; the transaction was rolled back: "
                           f"nothing was written") from exc
    finally:
        engine.dispose()
    return outcome


def _rollback(conn: Connection) -> None:
    try:
        conn.rollback()
    except SQLAlchemyError:
        pass  # a dead connection: the server rolls back on its own


def _select(conn: Connection, host_uuid: str, names: Iterable[str], *, lock: bool,
            shadows: dict[str, Image] | None = None) -> dict:
    """The rows ``(host_uuid, name)``, compared exactly, as DECNET's Python
    compares them. MariaDB's ``utf8mb4_general_ci`` also returns rows whose
    key only folds to ours (``LOCAL``, ``Name ``): those go to ``shadows``,
    under the name they stand in for, since they hold that key for the
    database (an insert there would fail the whole transaction)."""
    names = sorted(set(names))
    found: dict[str, Image] = {}
    for start in range(0, len(names), CHUNK):
        chunk = names[start:start + CHUNK]
        exact = set(chunk)
        params = {"h": host_uuid, **{f"n{i}": n for i, n in enumerate(chunk)}}
        marks = ", ".join(f":n{i}" for i in range(len(chunk)))
        sql = (f"SELECT {', '.join(COLUMNS)} FROM fleet_deckies "
               f"WHERE host_uuid = :h AND name IN ({marks})")
        if lock:
            sql += " FOR UPDATE"
        folded = None
        for row in conn.execute(text(sql), params):
            img = image(row)
            if img["host_uuid"] == host_uuid and img["name"] in exact:
                found[img["name"]] = img
            elif shadows is not None:
                if folded is None:
                    folded = {_fold(n): n for n in chunk}
                stands_for = folded.get(_fold(img["name"]))
                if stands_for is not None:
                    shadows.setdefault(stands_for, img)
    return found


def _fold(key: object) -> str:
    """About what a case- and accent-insensitive, trailing-space-padded
    collation compares."""
    text_key = str(key)
    decomposed = unicodedata.normalize("NFKD", text_key)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().rstrip(" ")


def _run_batches(conn: Connection, host_uuid: str, todo: list[Write], mysql: bool,
                 outcome: Outcome, fault: Callable[[str, Connection], None]) -> None:
    eq = "<=>" if mysql else "IS"  # NULL-safe equality
    guard = " AND ".join(f"{c} {eq} :e_{c}" for c in NONKEY)
    to_db = _storage(conn)
    statements = {
        "delete": f"DELETE FROM fleet_deckies WHERE host_uuid = :h AND name = :k AND {guard}",
        "update": (f"UPDATE fleet_deckies SET {', '.join(f'{c} = :v_{c}' for c in NONKEY)} "
                   f"WHERE host_uuid = :h AND name = :k AND {guard}"),
        "insert": (f"INSERT INTO fleet_deckies ({', '.join(COLUMNS)}) VALUES "
                   f"(:h, :k, {', '.join(f':v_{c}' for c in NONKEY)})"),
    }
    for op in ("delete", "update", "insert"):
        batch = [w for w in todo if w.op == op]
        if not batch:
            continue
        params = []
        for w in batch:
            p: dict[str, Any] = {"h": host_uuid, "k": w.name}
            if w.expect is not None:
                p.update({f"e_{c}": w.expect[c] for c in NONKEY})
            if w.new is not None:
                p.update({f"v_{c}": to_db(w.new[c]) for c in NONKEY})
            params.append(p)
        result = conn.execute(text(statements[op]), params)
        outcome.statements += 1
        if result.rowcount != len(batch):
            raise WriteAborted(f"{len(batch) - result.rowcount} of {len(batch)} rows changed "
                               f"while locked for the {op}s; the transaction was rolled back: "
                               f"nothing was written; run again")
        fault(f"after-{op}", conn)


def _storage(conn: Connection) -> Callable[[Any], Any]:
    """New timestamps as DECNET stores them: SQLAlchemy's own DateTime
    rendering on SQLite (text), the datetime itself on MariaDB. Values
    already read from the database pass through untouched."""
    process = DateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if process is None:
        return lambda v: v
    return lambda v: process(v) if isinstance(v, datetime) else v
