"""Values in ``fleet_deckies`` that DECNET never writes, refused before any
rule sees them (a rule judging a BLOB would crash or misjudge)."""

from __future__ import annotations

from datetime import datetime

from .. import nesting
from ..decnet import COLUMNS
from ..errors import SourceError
from ..model import Row

# What DECNET's model stores: text, NULL, and (MariaDB) datetimes. SQLite
# keeps any value in any column, so a row can hold what DECNET never writes.
_STORED = frozenset({str, type(None), datetime})
_JSON_COLUMNS = ("services", "decky_config")


def check_rows(rows: list[Row]) -> None:
    """Refuse, in one line naming the row, values no rule can judge: a BLOB
    or a number where DECNET writes text, JSON nested past any DECNET record.
    The audit of such a table is incomplete, never a crash."""
    for row in rows:
        if not {*map(type, (getattr(row, c) for c in COLUMNS))} <= _STORED:
            for column in COLUMNS:
                value = getattr(row, column)
                if type(value) not in _STORED:
                    kind = "a BLOB" if isinstance(value, bytes) else f"the {type(value).__name__}"
                    raise SourceError(f"row {_key(row)}: {column} holds {kind} "
                                      f"{_shown(value)}, not the text DECNET writes")
        for column in _JSON_COLUMNS:
            if nesting.too_deep(getattr(row, column) or ""):
                raise SourceError(f"row {_key(row)}: {column}: {nesting.message()}")


def _shown(value: object) -> str:
    if isinstance(value, bytes):
        return f"X'{value[:16].hex().upper()}'" + ("..." if len(value) > 16 else "")
    return repr(value)[:40]


def _key(row: Row) -> str:
    return f"({_shown(row.host_uuid) if not isinstance(row.host_uuid, str) else row.host_uuid}, " \
           f"{_shown(row.name) if not isinstance(row.name, str) else row.name})"
