"""The bundled example fleet (examples/fleet), its database built from SQL
as ``./dev demo`` does: one planted drift of every built-in rule."""

from __future__ import annotations

import sqlite3
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fleet"


def example_args(tmp: Path) -> list[str]:
    """The CLI options that audit a fresh copy of the example fleet in ``tmp``."""
    db = tmp / "decnet.db"
    db.unlink(missing_ok=True)
    con = sqlite3.connect(db)
    con.executescript((EXAMPLE / "fleet.sql").read_text())
    con.close()
    return ["--state", str(EXAMPLE / "decnet-state.json"), "--db", f"sqlite:///{db}",
            "--docker-snapshot", str(EXAMPLE / "docker-inspect.json")]


def rows(tmp: Path) -> list[tuple]:
    """Every fleet_deckies row of the example database, for "nothing was written"."""
    con = sqlite3.connect(tmp / "decnet.db")
    try:
        return con.execute("SELECT * FROM fleet_deckies ORDER BY host_uuid, name").fetchall()
    finally:
        con.close()
