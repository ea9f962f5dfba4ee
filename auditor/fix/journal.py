"""The fix journal: what a ``--fix`` (or ``undo``) run changed, as JSON.

Each changed row is kept whole, before and after, exactly as the database
returned it: SQLite hands back its datetimes as the text it stores, MariaDB
as ``datetime`` objects, and ``undo`` must write back the very same values.
Values JSON cannot hold are tagged (``{"$datetime": "..."}``). The journal is
written (fsync'ed) *before* the transaction commits, so a deleted row is never
only in memory.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .. import __version__
from ..atomic import write_atomic
from ..errors import UsageError

FORMAT = "decnet-audit-journal"
VERSION = 1
PREPARED, COMMITTED = "prepared", "committed"


def encode_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    raise TypeError(f"cannot journal a {type(value).__name__}")


def decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        (tag, text), = value.items()
        return {
            "$datetime": datetime.fromisoformat,
            "$date": date.fromisoformat,
            "$bytes": base64.b64decode,
            "$decimal": Decimal,
        }[tag](text)
    return value


def encode_image(image: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if image is None else {k: encode_value(v) for k, v in image.items()}


def decode_image(image: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if image is None else {k: decode_value(v) for k, v in image.items()}


@dataclass
class Entry:
    """One changed row (or removed container) of a run."""

    target: str  # "fleet_deckies" or "container"
    op: str  # insert / update / delete; remove for a container
    host_uuid: str
    name: str
    rules: list[str]
    before: dict[str, Any] | None = None  # the whole row; None: there was none
    after: dict[str, Any] | None = None  # the whole row; None: there is none
    undoable: bool = True
    status: str | None = None  # containers: removed / skipped / conflict / failed
    detail: str | None = None

    def as_dict(self) -> dict:
        return {
            "target": self.target, "op": self.op, "host_uuid": self.host_uuid,
            "name": self.name, "rules": self.rules, "undoable": self.undoable,
            "status": self.status, "detail": self.detail,
            "before": encode_image(self.before), "after": encode_image(self.after),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Entry:
        return cls(
            target=d["target"], op=d["op"], host_uuid=d["host_uuid"], name=d["name"],
            rules=list(d.get("rules") or []), undoable=bool(d.get("undoable", True)),
            status=d.get("status"), detail=d.get("detail"),
            before=decode_image(d.get("before")), after=decode_image(d.get("after")),
        )


@dataclass
class Journal:
    command: str  # "fix" or "undo"
    host_uuid: str
    database: str  # masked URL: never a password
    path: Path
    entries: list[Entry] = field(default_factory=list)
    status: str = PREPARED
    created_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    tool: str = f"decnet-audit {__version__}"
    undoes: str | None = None  # the journal an undo run reverted

    def as_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "tool": self.tool,
            "command": self.command, "status": self.status, "created_at": self.created_at,
            "host_uuid": self.host_uuid, "database": self.database, "undoes": self.undoes,
            "changes": [e.as_dict() for e in self.entries],
        }

    def write(self) -> None:
        """Atomically, fsync'ed, readable by its owner only (rows may hold
        configuration an operator would not publish)."""
        data = json.dumps(self.as_dict(), indent=2) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(self.path, data.encode("utf-8"), mode=0o600)
        # The rename itself must survive a crash before the commit that follows.
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def default_path(env: dict[str, str] | os._Environ, host_uuid: str, command: str) -> Path:
    """``$DECNET_AUDIT_JOURNAL_DIR``, else ``$XDG_STATE_HOME/decnet-audit/journal``
    (``~/.local/state/...``); one file per run, named by time and host."""
    base = env.get("DECNET_AUDIT_JOURNAL_DIR")
    if not base:
        state_home = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        base = str(Path(state_home) / "decnet-audit" / "journal")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    safe_host = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in host_uuid)[:64]
    return Path(base) / f"{command}-{stamp}-{safe_host}.json"


def read(path: Path) -> Journal:
    """A journal written by this tool; anything else is a one-line UsageError."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read journal {path}: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not a decnet-audit journal (not JSON: {exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UsageError(f"{path} is not a decnet-audit journal (no \"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise UsageError(f"{path}: journal version {doc.get('version')!r} is not supported "
                         f"(this tool reads version {VERSION})")
    try:
        entries = [Entry.from_dict(e) for e in doc["changes"]]
        return Journal(
            command=doc["command"], host_uuid=doc["host_uuid"], database=doc["database"],
            path=path, entries=entries, status=doc["status"], created_at=doc["created_at"],
            tool=doc.get("tool", ""), undoes=doc.get("undoes"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{path}: damaged journal ({type(exc).__name__}: {exc})") from exc
