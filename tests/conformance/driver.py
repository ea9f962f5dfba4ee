# SPDX-License-Identifier: AGPL-3.0-or-later
"""The conformance driver: builds worlds with DECNET 1.0.0's own code.

This program (this file and its ``driver_core.py``, ``driver_world.py`` and
``driver_docker.py``) is the only code of the project that imports DECNET. It
runs under DECNET's interpreter (``.venv-decnet/bin/python``), never inside
the decnet-audit process, and talks JSON: one command object in, one answer
object out. ``--serve`` reads one command per line from stdin and answers one
line each, so a scenario with many reconciler ticks pays DECNET's import once.

A command is ``{"op": NAME, ...arguments}``; the answer is
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``. Ops are
plain functions registered in ``driver_core.OPS`` with ``@op``: add one the
same way, in the module of its kind.

Common arguments:
  ``db``: ``{"type": "sqlite", "path": P}`` or ``{"type": "mysql", "url": U}``
  (``mysql+asyncmy://`` as DECNET writes it);
  ``state_file``: the path DECNET's ``config.STATE_FILE`` is pointed at;
  ``docker_host``: the engine (default ``$DOCKER_HOST``);
  ``clock_offset``: seconds added to DECNET's ``datetime.now`` in the
  repository (a world written "in the past" has a negative offset).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

# DECNET needs these at import time; values of our own, never a real secret.
os.environ.setdefault("DECNET_ADMIN_PASSWORD", "conformance-driver-admin")
os.environ.setdefault("DECNET_JWT_SECRET", "c" * 64)
# DECNET's logging adds a file handler in the cwd unless told where; keep it
# out of the checkout (DECNET_TESTING=1 would also switch its schema path
# away from Alembic, so it is not used).
os.environ.setdefault("DECNET_SYSTEM_LOGS",
                      str(Path(tempfile.gettempdir()) / "decnet-conformance-system.log"))

if Path.cwd().resolve().name == "decnet" or "site-packages" in str(Path.cwd()):
    # DECNET's own `logging` package would shadow the standard library's.
    os.chdir(tempfile.gettempdir())

import driver_core  # noqa: E402  (imports DECNET, after the environment above)
import driver_docker  # noqa: E402, F401  (registers its ops)
import driver_host  # noqa: E402, F401  (registers its ops: issue 14's)
import driver_world  # noqa: E402, F401  (registers its ops)
import swarm_ops  # noqa: E402  (issue 13's, registered below)

swarm_ops.register(driver_core)


def handle(cmd: dict) -> dict:
    try:
        fn = driver_core.OPS[cmd["op"]]
    except (KeyError, TypeError):
        what = cmd.get("op") if isinstance(cmd, dict) else cmd
        return {"ok": False, "error": f"unknown op {what!r}"}
    try:
        return {"ok": True, "result": fn(cmd)}
    except Exception as exc:  # noqa: BLE001 - the caller gets the reason as data
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                "trace": traceback.format_exc(limit=6)}


def main(argv: list[str]) -> int:
    # Answers go to the real stdout; anything DECNET prints goes to stderr.
    out, sys.stdout = sys.stdout, sys.stderr
    if "--serve" in argv:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                answer = handle(json.loads(line))
            except json.JSONDecodeError as exc:
                answer = {"ok": False, "error": f"not JSON: {exc}"}
            out.write(json.dumps(answer) + "\n")
            out.flush()
        return 0
    source = open(argv[1]) if len(argv) > 1 and argv[1] != "-" else sys.stdin
    answer = handle(json.load(source))
    out.write(json.dumps(answer) + "\n")
    return 0 if answer["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
