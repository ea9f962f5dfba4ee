"""Reading a large JSON report without holding all of it.

decnet-audit writes each element of the report's long lists on a line of
its own (``reports/json_report.dumps``): ``checks`` at the top level,
``deckies`` and ``shards`` in ``inventory``. A master of 100,000 deckies
writes a 100 MB report; parsed whole it takes over half a GB. Here those
lists are read line by line, each element handed to a reducer that keeps
only what the merge needs (a passing check is only counted, never parsed),
and the rest of the document is parsed as usual. A file not laid out so
(re-indented by another tool) raises :class:`Layout`; the caller then
parses it whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

_OPEN_LIST = re.compile(r'^( *)"(\w+)": \[$')
_OPEN_OBJECT = re.compile(r'^( *)"(\w+)": \{$')
_CLOSE_OBJECT = re.compile(r"^( *)\},?$")
# How the writer spells a passing check: counted without being parsed.
PASSED_CHECK = ', "outcome": "passed", "error": '


class Layout(ValueError):
    """The text is not laid out as decnet-audit writes its reports."""


def load(lines: Iterable[str], reducers: dict[tuple[str, ...], Callable[[str], object]]) -> dict:
    """The document, each list at a path of ``reducers`` replaced by the
    reduced elements (``None`` results dropped). ``lines``: the report's
    lines (an open file: it is never held whole)."""
    skeleton: list[str] = []
    lists: dict[tuple[str, ...], list] = {}
    path: list[tuple[int, str]] = []  # the open objects: (indent, key)
    inside = None  # (key, indent, reduce, kept) of the list being read
    for raw in lines:
        line = raw.rstrip("\n")
        if inside is not None:
            key, indent, reduce, kept = inside
            if line.startswith(indent + "  "):
                item = line.strip()
                value = reduce(item[:-1] if item.endswith(",") else item)
                if value is not None:
                    kept.append(value)
                continue
            if line.strip() not in ("]", "],"):
                raise Layout(f"list {'.'.join(key)} does not close on its own line")
            lists[key] = kept
            skeleton.append(f'{indent}"{key[-1]}": []{"," if line.strip() == "]," else ""}')
            inside = None
            continue
        opened = _OPEN_LIST.match(line)
        if opened:
            key = (*(k for _, k in path), opened.group(2))
            if key in reducers:
                inside = (key, opened.group(1), reducers[key], [])
                continue
        obj = _OPEN_OBJECT.match(line)
        if obj:
            path.append((len(obj.group(1)), obj.group(2)))
        elif path and (close := _CLOSE_OBJECT.match(line)) and len(close.group(1)) == path[-1][0]:
            path.pop()
        skeleton.append(line)
    if inside is not None:
        raise Layout("the report ends inside a list")
    doc = json.loads("\n".join(skeleton))
    for key, kept in lists.items():
        holder = doc
        for part in key[:-1]:
            holder = holder[part]
        holder[key[-1]] = kept
    return doc
