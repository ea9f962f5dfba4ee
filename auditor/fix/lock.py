"""One ``--fix`` (or ``undo``) at a time per database and host.

The lock is taken *before* the sources are read and held until the
re-audit is done, so a second run waits and then audits what the first one
left, instead of fixing from a picture that is already stale.

* MariaDB/MySQL: ``GET_LOCK`` on a connection of its own, named after the
  database and the host (server-wide names, hence the database in it).
* SQLite: ``flock`` on the database file itself. SQLite locks with POSIX
  ``fcntl`` byte ranges, which ``flock`` does not touch on Linux, so DECNET's
  own readers and writers are never blocked by it; and no file is created.
  The write transaction itself is ``BEGIN IMMEDIATE`` with a busy timeout
  (see :mod:`decnet_audit.fix.sql`).

Neither lock binds DECNET's reconciler, which takes no such lock: against it,
every write is conditional on the row the audit saw.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..errors import SourceError
from ..sources import database
from .options import LOCK_TIMEOUT  # noqa: F401 - where undo and --fix read it
from .sql import WriteAborted

POLL = 0.05  # seconds between flock attempts


class LockBusy(Exception):
    """Another run held the lock for longer than we were willing to wait."""


def lock_name(db: str | None, host_uuid: str) -> str:
    digest = hashlib.sha256(f"{db}\0{host_uuid}".encode("utf-8", "surrogateescape"))
    return "decnet-audit-fix:" + digest.hexdigest()[:40]  # GET_LOCK names: 64 chars at most


class FixLock:
    """``with FixLock(url, host, timeout, on_wait):`` holds the lock inside.

    ``on_wait`` receives one line when the lock is busy and the run starts
    waiting; :class:`LockBusy` is raised when ``timeout`` seconds pass."""

    def __init__(self, url: str, host_uuid: str, timeout: float,
                 on_wait: Callable[[str], None] = lambda msg: None):
        self.url, self.host_uuid, self.timeout, self.on_wait = url, host_uuid, timeout, on_wait
        self._release: Callable[[], None] | None = None
        self._check: Callable[[], None] = lambda: None

    def __enter__(self) -> FixLock:
        parsed = database.parse_url(self.url)
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            self._release = self._flock(parsed.database)
        elif backend == "mysql":
            self._release = self._get_lock(parsed.database)
        else:
            raise SourceError(f"--fix supports SQLite and MariaDB/MySQL, not {backend}")
        return self

    def still_held(self) -> None:
        """Raise :class:`WriteAborted` if the lock was lost since it was taken
        (on MariaDB, its connection ended: the server released it, and
        another run may hold it now). A flock cannot be lost."""
        self._check()

    def __exit__(self, *exc) -> None:
        if self._release is not None:
            self._release()
            self._release = None

    def _busy(self, holder: str) -> str:
        return (f"another decnet-audit --fix or undo ({holder}) holds the fix lock for host "
                f"{self.host_uuid!r} on {database.mask(self.url)}")

    def _flock(self, path: str | None) -> Callable[[], None]:
        if not path or path == ":memory:":
            return lambda: None
        database.connect(self.url).dispose()  # the one-line error for a missing file
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise SourceError(f"cannot open the database file to lock it: "
                              f"{exc.strerror or exc}") from exc
        deadline = time.monotonic() + self.timeout
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockBusy(self._busy("a process holding flock on the file")) from None
                if not said:
                    self.on_wait(f"waiting up to {self.timeout:g}s: "
                                 f"{self._busy('a process holding flock on the file')}")
                    said = True
                time.sleep(POLL)

        def release() -> None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

        return release

    def _get_lock(self, db: str | None) -> Callable[[], None]:
        name = lock_name(db, self.host_uuid)
        engine = database.connect(self.url)
        try:
            conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except (SQLAlchemyError, OSError) as exc:
            engine.dispose()
            raise SourceError(database.describe_error(exc, engine.url)) from exc
        try:
            got = conn.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": name}).scalar()
            if got != 1:
                holder = conn.execute(text("SELECT IS_USED_LOCK(:n)"), {"n": name}).scalar()
                busy = self._busy(f"MariaDB connection {holder}")
                if self.timeout <= 0:  # --lock-timeout 0: no wait to announce
                    raise LockBusy(busy)
                self.on_wait(f"waiting up to {self.timeout:g}s: {busy}")
                got = conn.execute(text("SELECT GET_LOCK(:n, :t)"),
                                   {"n": name, "t": self.timeout}).scalar()
                if got != 1:
                    raise LockBusy(busy)
        except SQLAlchemyError as exc:
            conn.close()
            engine.dispose()
            raise SourceError(database.describe_error(exc, engine.url)) from exc
        except BaseException:
            conn.close()
            engine.dispose()
            raise

        def check() -> None:
            try:
                mine = conn.execute(text("SELECT IS_USED_LOCK(:n) = CONNECTION_ID()"),
                                    {"n": name}).scalar()
            except (SQLAlchemyError, OSError) as exc:
                why = f"its connection failed: {database.describe_error(exc, engine.url)}"
            else:
                if mine == 1:
                    return
                why = "the server no longer holds it for this run"
            raise WriteAborted(f"the fix lock was lost ({why}); another --fix or undo may be "
                               f"running; the transaction was rolled back: nothing was written")

        self._check = check

        def release() -> None:
            try:
                conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": name})
            except SQLAlchemyError:
                pass  # a dropped connection has released it already
            finally:
                conn.close()
                engine.dispose()

        return release
