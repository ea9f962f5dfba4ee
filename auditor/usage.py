"""Argument parsing for every decnet-audit command: no abbreviated options,
a suggestion for a mistyped option, command or rule, and usage errors that
exit 4 (argparse's own exit 2 means "audit incomplete" here)."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable

from .errors import UsageError


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices``, else ``""``."""
    options = list(dict.fromkeys(choices))
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:  # case is no typo: json-ONLY is json-only
        lowered = {c.lower(): c for c in options}
        close = [lowered[m] for m in difflib.get_close_matches(word.lower(), lowered, 1, 0.6)]
    return f" (did you mean {close[0]!r}?)" if close else ""


class Parser(argparse.ArgumentParser):
    """``allow_abbrev=False``: argparse would otherwise take ``--fi`` for
    ``--fix`` and ``--unsafe`` for ``--unsafe-fixes``, so that a typo writes
    to the database. ``commands`` are the subcommands, for suggestions."""

    def __init__(self, *args, commands: Iterable[str] = (), **kwargs):
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
        self.commands = tuple(commands)

    def error(self, message):
        raise UsageError(message)

    def parse_args(self, args=None, namespace=None):
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            self.error(self.unknown(extra[0]))
        return parsed

    def unknown(self, word: str) -> str:
        if word.startswith("-") and len(word) > 1:
            name = word.split("=", 1)[0]
            options = [o for a in self._actions for o in a.option_strings]
            return f"unknown option {name}{did_you_mean(name, options)}"
        hint = did_you_mean(word, self.commands)
        commands = f" (commands: {', '.join(self.commands)})" if self.commands else ""
        return f"unexpected argument {word!r}{hint or commands}"
