"""``--diff`` / ``--dry-run``: each change shown exactly, row before and after.

Unchanged columns are shown as context, a changed one as ``-`` (before) and
``+`` (after); an inserted row is all ``+``, a deleted one all ``-``.
Values are Python literals (quotes and escapes kept), so two values that
print alike are alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..decnet import COLUMNS
from ..text import visible

_WIDTH = max(len(c) for c in COLUMNS)


def show(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value)  # a datetime: 2026-01-31 12:00:00
    return visible(repr(value))


def row_diff(before: dict | None, after: dict | None) -> list[str]:
    lines = []
    for col in COLUMNS:
        name = col.ljust(_WIDTH)
        if before is None:
            lines.append(f"+ {name} {show(after[col])}")
        elif after is None:
            lines.append(f"- {name} {show(before[col])}")
        elif before[col] == after[col]:
            lines.append(f"  {name} {show(before[col])}")
        else:
            lines.append(f"- {name} {show(before[col])}")
            lines.append(f"+ {name} {show(after[col])}")
    return lines


def heading(target: str, op: str, host: str, name: str, rules: Iterable[str]) -> str:
    what = (f"container {visible(name)}" if target == "container"
            else f"fleet_deckies ({visible(host)}, {visible(name)})")
    return f"{op} {what}  [{', '.join(rules)}]"


def container_lines(seen: dict) -> list[str]:
    return [f"- container {visible(seen.get('name'))} id {str(seen.get('id'))[:12]} "
            f"state {visible(seen.get('state'))} labels {visible(seen.get('labels'))}",
            "  (not undoable: a removed container is gone)"]
