"""Test-only fault injection for ``--fix`` and ``undo``.

The fault tests must show what happens when a run is stopped between two
statements of its transaction, or between its audit and its writes, on a
real database. ``DECNET_AUDIT_TEST_FAULT`` names the points, comma-separated:

* ``STAGE=fail``: raise there (an injected failure mid-transaction);
* ``STAGE=pause:DIR``: write ``DIR/STAGE.paused`` (JSON: pid and, inside the
  transaction on MariaDB, the connection id a test can ``KILL``), then wait
  until ``DIR/STAGE.resume`` exists.

Stages: ``lock-held`` (run lock taken, nothing read yet), ``audited``
(before the write transaction), ``locked`` (rows locked and compared),
``after-delete``, ``after-update``, ``after-insert``, ``journaled`` (just
before COMMIT), ``committed`` (just after it). Unset, this module does nothing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ENV = "DECNET_AUDIT_TEST_FAULT"
PAUSE_LIMIT = 120  # seconds: a forgotten test must not leave a run hanging forever


class InjectedFault(RuntimeError):
    """Raised at a ``STAGE=fail`` point."""


def from_env(env: Mapping[str, str]) -> Callable[..., None]:
    spec = env.get(ENV, "").strip()
    if not spec:
        return lambda stage, conn=None: None
    points = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)

    def fault(stage: str, conn=None) -> None:
        action = points.get(stage)
        if action is None:
            return
        if action == "fail":
            raise InjectedFault(f"injected fault at {stage} ({ENV})")
        if action.startswith("pause:"):
            where = Path(action.split(":", 1)[1])
            info = {"pid": os.getpid(), "connection_id": None}
            if conn is not None and conn.dialect.name != "sqlite":
                from sqlalchemy import text

                info["connection_id"] = conn.execute(text("SELECT CONNECTION_ID()")).scalar()
            tmp = where / f".{stage}.paused.tmp"
            tmp.write_text(json.dumps(info))
            os.replace(tmp, where / f"{stage}.paused")  # a waiting test never reads half
            deadline = time.monotonic() + PAUSE_LIMIT
            while not (where / f"{stage}.resume").exists() and time.monotonic() < deadline:
                time.sleep(0.02)

    return fault
