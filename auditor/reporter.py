"""The contract of a file report format (JSON, JUnit XML, HTML, ...)."""

from __future__ import annotations

from typing import ClassVar

from .model import AuditResult


class Reporter:
    """Renders a finished audit to one file. Subclasses set ``name`` (used in
    messages), ``option`` (the command-line flag taking the output path) and
    ``help``."""

    name: ClassVar[str]
    option: ClassVar[str]
    help: ClassVar[str] = ""

    def render(self, result: AuditResult) -> bytes:
        raise NotImplementedError
