"""How deeply a JSON text nests, measured without parsing or recursion.

Python's ``json`` and everything that walks its result (comparisons, report
encoders) recurse once per level: a document nested a thousand deep ends in
``RecursionError`` wherever it is first walked. DECNET's records nest a few
levels; anything past :data:`LIMIT` is refused where it is read, with one
line, instead of crashing whatever touches it later.

The measure runs on the text with ``bytes`` methods only (C speed): keep the
brackets and quotes, drop escaped quotes, drop strings, then peel innermost
bracket pairs one level per pass.
"""

from __future__ import annotations

import re

LIMIT = 64  # levels; DECNET's state file nests 5 deep

_KEEP = b'[]{}"\\'
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_STRING = re.compile(rb'"[^"]*"')
# Valid JSON closes what it opens, so one kind of bracket tells the depth.
_ONE_KIND = bytes.maketrans(b"{}", b"[]")


def too_deep(text: str | bytes, limit: int = LIMIT) -> bool:
    """Whether valid JSON ``text`` nests more than ``limit`` levels."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if raw.count(b"[") + raw.count(b"{") <= limit:  # the usual record: nothing to measure
        return False
    shape = raw.translate(_ONE_KIND, _DROP)
    if b"\\" in shape:
        shape = shape.replace(b"\\\\", b"").replace(b'\\"', b"").replace(b"\\", b"")
    # Quotes alternate open/close: removing any adjacent pair only joins two
    # strings (or drops an empty one), so most strings go at memchr speed.
    shape = _STRING.sub(b"", shape.replace(b'""', b""))
    for _ in range(limit):
        peeled = shape.replace(b"[]", b"")  # one scan peels exactly one level
        if not peeled:
            return False
        if len(peeled) == len(shape):  # not JSON after all: leave it to the parser
            return False
        shape = peeled
    return True


def message(limit: int = LIMIT) -> str:
    return f"JSON nested more than {limit} levels deep (DECNET writes a few)"
