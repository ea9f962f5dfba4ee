"""``--diff`` / ``--dry-run``: each change shown exactly, row before and after.

Unchanged columns are shown as context, a changed one as ``-`` (before) and
``+`` (after); an inserted row is all ``+``, a deleted one all ``-``.
Values are Python literals (quotes and escapes kept), so two values that
print alike are alike. A JSON object column (``decky_config``) that changes
is shown key by key: the keys that differ as ``-``/``+``, the others counted,
so the one key that changed is not buried in two copies of the whole object.
"""

from __future__ import annotations

import json
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
            lines += key_diff(col, before[col], after[col]) or [
                f"- {name} {show(before[col])}", f"+ {name} {show(after[col])}"]
    return lines


_ABSENT = object()


def _object(text: Any) -> dict | None:
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _changed_keys(before: Any, after: Any) -> tuple[dict, dict, list[str]] | None:
    old, new = _object(before), _object(after)
    if old is None or new is None:
        return None
    keys = list(dict.fromkeys([*old, *new]))
    return old, new, [k for k in keys if old.get(k, _ABSENT) != new.get(k, _ABSENT)]


def key_diff(col: str, before: Any, after: Any) -> list[str] | None:
    """The lines of a JSON-object column key by key, or None for other values."""
    found = _changed_keys(before, after)
    if found is None:
        return None
    old, new, changed = found
    width = max([_WIDTH, *(len(col) + 1 + len(k) for k in changed)])
    lines = []
    for k in changed:
        name = f"{col}.{k}".ljust(width)
        if k in old:
            lines.append(f"- {name} {show(old[k])}")
        if k in new:
            lines.append(f"+ {name} {show(new[k])}")
    same = len(set(old) | set(new)) - len(changed)
    note = f"{same} other key{'s' if same != 1 else ''} unchanged"
    common = [k for k in new if k in old]
    if [k for k in old if k in new] != common:
        note += "; the text is rewritten with its keys in another order"
    lines.append(f"  {col.ljust(width)} ({note})")
    return lines


def change_text(col: str, before: Any, after: Any) -> str:
    """One column's change in a line: ``decky_config.hostname 'a' -> 'b'``."""
    found = _changed_keys(before, after)
    if found is None or not found[2]:
        return f"{col} {show(before)} -> {show(after)}"
    old, new, changed = found
    return "; ".join(f"{col}.{k} {show(old.get(k))} -> {show(new.get(k))}" for k in changed)


def heading(target: str, op: str, host: str, name: str, rules: Iterable[str]) -> str:
    what = (f"container {visible(name)}" if target == "container"
            else f"fleet_deckies ({visible(host)}, {visible(name)})")
    return f"{op} {what}  [{', '.join(rules)}]"


def container_lines(seen: dict) -> list[str]:
    return [f"- container {visible(seen.get('name'))} id {str(seen.get('id'))[:12]} "
            f"state {visible(seen.get('state'))} labels {visible(seen.get('labels'))}",
            "  (not undoable: a removed container is gone)"]
