"""The fix journal: what a ``--fix`` (or ``undo``) run changed, as JSON.

Each changed row is kept whole, before and after, exactly as the database
returned it: SQLite hands back its datetimes as the text it stores, MariaDB
as ``datetime`` objects, and ``undo`` must write back the very same values.
Values JSON cannot hold are tagged (``{"$datetime": "..."}``). The journal is
written (fsync'ed) *before* the transaction commits, so a deleted row is never
only in memory, and it never replaces a file that exists. Each journal is
sealed (HMAC, see :mod:`decnet_audit.fix.journalkey`); ``undo`` reads only a
journal this user owns, that nobody else can write, whose seal holds.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .. import __version__, nesting
from ..atomic import write_atomic
from ..decnet import COLUMNS
from ..errors import UsageError
from ..rule import FLEET_TABLE
from . import journalkey

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


_DECODERS = {
    "$datetime": datetime.fromisoformat,
    "$date": date.fromisoformat,
    "$bytes": lambda text: base64.b64decode(text, validate=True),
    "$decimal": Decimal,
}


def decode_value(value: Any) -> Any:
    """The value :func:`encode_value` tagged; ValueError for anything else."""
    if isinstance(value, dict):
        if len(value) != 1:
            raise ValueError(f"a tagged value has one key, not {len(value)}")
        (tag, text), = value.items()
        if tag not in _DECODERS or not isinstance(text, str):
            raise ValueError(f"unknown tagged value {tag!r}")
        try:
            return _DECODERS[tag](text)
        except (ValueError, ArithmeticError) as exc:  # decimal.InvalidOperation is neither
            raise ValueError(f"bad {tag} value {text[:40]!r}") from exc
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"a journal value is {type(value).__name__}, not a column value")


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
        """An entry as :meth:`as_dict` wrote it; ValueError for anything else."""
        if not isinstance(d, dict):
            raise ValueError("a change is not an object")
        for key in ("target", "op", "host_uuid", "name"):
            if not isinstance(d.get(key), str):
                raise ValueError(f"change {key} is not a string")
        e = cls(
            target=d["target"], op=d["op"], host_uuid=d["host_uuid"], name=d["name"],
            rules=[str(r) for r in d.get("rules") or []],
            undoable=bool(d.get("undoable", True)),
            status=d.get("status"), detail=d.get("detail"),
            before=_image(d.get("before")), after=_image(d.get("after")),
        )
        if e.target == FLEET_TABLE:
            for img in (e.before, e.after):
                if img is not None and (set(img) != set(COLUMNS) or
                                        (img["host_uuid"], img["name"]) != (e.host_uuid, e.name)):
                    raise ValueError(f"the row images of ({e.host_uuid}, {e.name}) are not "
                                     f"whole rows of that key")
            if e.op not in _ROW_OPS or (e.before is None, e.after is None) != _ROW_OPS[e.op]:
                raise ValueError(f"change {e.op!r} of ({e.host_uuid}, {e.name}) does not match "
                                 f"its row images")
        return e


_ROW_OPS = {"insert": (True, False), "update": (False, False), "delete": (False, True)}


def _image(value: Any) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise ValueError("a row image is not an object")
    return decode_image(value)


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
    env: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)
    created: bool = False  # this run made the file (and may remove it)
    unsealed: str | None = None  # read with --accept-unsealed: why its seal did not hold

    def as_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "tool": self.tool,
            "command": self.command, "status": self.status, "created_at": self.created_at,
            "host_uuid": self.host_uuid, "database": self.database, "undoes": self.undoes,
            "changes": [e.as_dict() for e in self.entries],
        }

    def write(self) -> None:
        """Atomically, fsync'ed, readable by its owner only (rows may hold
        configuration an operator would not publish), sealed with the key.
        The first write never replaces a file that exists: an earlier run's
        journal holds before-images nothing else has."""
        doc = self.as_dict()
        doc["mac"] = journalkey.seal(journalkey.load(self.env, create=True), _canonical(doc))
        data = json.dumps(doc, indent=2) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(self.path, data.encode("utf-8"), mode=0o600, exclusive=not self.created)
        self.created = True
        # The rename itself must survive a crash before the commit that follows.
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def discard(self) -> None:
        """Remove the journal of a transaction that never happened, if this
        run wrote it; a file it did not write is never touched."""
        if self.created:
            self.path.unlink(missing_ok=True)
            self.created = False


def _seal_problem(path: Path, doc: dict, env: Mapping[str, str]) -> str | None:
    try:
        key = journalkey.load(env, create=False)
    except journalkey.KeyFileError as exc:
        return f"journal {path} cannot be checked: {exc}"
    if not journalkey.sealed_by(key, _canonical(doc), doc.get("mac")):
        return (f"journal {path} fails its integrity check (edited since it was written, "
                f"or not sealed with this host's journal key)")
    return None


def _canonical(doc: dict) -> bytes:
    body = {k: v for k, v in doc.items() if k != "mac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def default_path(env: dict[str, str] | os._Environ, host_uuid: str, command: str) -> Path:
    """``$DECNET_AUDIT_JOURNAL_DIR``, else ``$XDG_STATE_HOME/decnet-audit/journal``
    (``~/.local/state/...``); one file per run, named by time and host."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    safe_host = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in host_uuid)[:64]
    return journalkey.journal_dir(env) / f"{command}-{stamp}-{safe_host}.json"


def refuse_existing(path: Path, flag: str = "--journal") -> None:
    if os.path.lexists(path):
        raise UsageError(f"{flag} {path}: the file exists; a journal is never overwritten "
                         f"(it may hold the only copy of an earlier run's rows)")


def read(path: Path, env: Mapping[str, str] | None = None, *,
         accept_unsealed: bool = False) -> Journal:
    """A journal written and sealed by this tool for this user; anything else
    is a one-line UsageError, before any of its content is used.
    ``accept_unsealed`` (``undo --accept-unsealed``) lets through one whose
    seal cannot be checked or fails (the key was lost, or the journal predates
    seals), its reason in ``Journal.unsealed``; who owns the file and who can
    write it are checked all the same."""
    env = os.environ if env is None else env
    try:
        # O_NONBLOCK: a FIFO named as the journal must not hang the run.
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as fh:
            st = os.fstat(fh.fileno())
            why = journalkey.untrusted(st, f"journal {path}") if stat.S_ISREG(st.st_mode) \
                else f"journal {path} is not a regular file"
            raw = fh.read() if why is None else b""
    except OSError as exc:
        raise UsageError(f"cannot read journal {path}: {exc.strerror or exc}") from exc
    if why is not None:
        raise UsageError(f"refused: {why}")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not a decnet-audit journal (not JSON: {exc})") from exc
    except RecursionError:
        raise UsageError(f"{path} is not a decnet-audit journal ({nesting.message()})") from None
    if nesting.too_deep(raw):
        raise UsageError(f"{path} is not a decnet-audit journal ({nesting.message()})")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UsageError(f"{path} is not a decnet-audit journal (no \"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise UsageError(f"{path}: journal version {doc.get('version')!r} is not supported "
                         f"(this tool reads version {VERSION})")
    unsealed = _seal_problem(path, doc, env)
    if unsealed is not None and not accept_unsealed:
        raise UsageError(f"refused: {unsealed} (undo --accept-unsealed takes it as it is)")
    try:
        entries = [Entry.from_dict(e) for e in doc["changes"]]
        return Journal(
            command=doc["command"], host_uuid=doc["host_uuid"], database=doc["database"],
            path=path, entries=entries, status=doc["status"], created_at=doc["created_at"],
            tool=doc.get("tool", ""), undoes=doc.get("undoes"), env=env, unsealed=unsealed,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{path}: damaged journal ({type(exc).__name__}: {exc})") from exc
