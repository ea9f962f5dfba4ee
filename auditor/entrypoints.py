"""The installed plugins' entry points, read without importing importlib.metadata.

Importing importlib.metadata costs about 25 ms (it brings email, csv and
zipfile along), more than loading every built-in rule and report format
together, and ``--help`` needs the plugins for their report options. On an
ordinary ``sys.path`` the lookup is a directory listing plus one small INI
file per distribution, so that is done here, by the same rules: ``sys.path``
order, ``*.dist-info`` and ``*.egg-info`` directories, the first distribution
of a (normalized) name wins. Anything else on the path that could hold
distributions (a zip or egg file, an ``.egg`` directory, a meta-path finder
with its own ``find_distributions``) hands the whole lookup to
importlib.metadata, so a plugin is never missed.
"""

from __future__ import annotations

import os
import re
import sys
from importlib import import_module
from importlib.machinery import PathFinder
from typing import NamedTuple

_METADATA_DIRS = (".dist-info", ".egg-info")
# module[:attr][ [extras]], as the entry-point specification writes a value
_VALUE = re.compile(r"^(?P<module>[\w.]+)\s*(?::\s*(?P<attr>[\w.]+)\s*)?(?:\[.*\]\s*)?$")


class EntryPoint(NamedTuple):
    name: str
    value: str

    def load(self):
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"not an entry point value: {self.value!r}")
        obj = import_module(match["module"])
        for attr in filter(None, (match["attr"] or "").split(".")):
            obj = getattr(obj, attr)
        return obj


def entry_points(group: str) -> list[EntryPoint]:
    """Every entry point of ``group``, in the order importlib.metadata gives."""
    if not _plain_path():
        from importlib.metadata import entry_points as slow

        return [EntryPoint(ep.name, ep.value) for ep in slow(group=group)]
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for entry in sys.path:
        for child in _children(entry):
            low = child.lower()
            if not low.endswith(_METADATA_DIRS):
                continue
            name = _normalize(low.rpartition(".")[0].partition("-")[0])
            if name in seen:
                continue
            seen.add(name)
            found.extend(_read(os.path.join(entry or ".", child, "entry_points.txt"), group))
    return found


def _plain_path() -> bool:
    if any(getattr(f, "find_distributions", None) is not None and f is not PathFinder
           for f in sys.meta_path):
        return False
    for entry in sys.path:
        if not isinstance(entry, str):  # a Path or bytes someone appended: not read here
            return False
        path = entry or "."
        if path.lower().endswith(".egg") or os.path.isfile(path):
            return False
    return True


def _children(entry: str) -> list[str]:
    try:
        return os.listdir(entry or ".")
    except OSError:  # not there, not a directory (a path hook's token), unreadable
        return []


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _read(path: str, group: str) -> list[EntryPoint]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):  # no entry points (or none readable)
        return []
    out, section = [], None
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group and "=" in line:
            name, _, value = line.partition("=")
            out.append(EntryPoint(name.strip(), value.strip()))
    return out
