"""The contract every rule, built-in or third-party, fulfils."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .model import Finding, Fleet, RuleInfo


@dataclass(frozen=True)
class Change:
    """One write a fix intends, as data: the engine (not the rule) applies it,
    scoped to the local host and conditional on what the audit saw.

    ``op`` is ``insert``, ``update`` or ``delete`` on ``target`` (the
    ``fleet_deckies`` table unless a rule says otherwise); ``values`` are the
    new column values for inserts and updates.
    """

    op: str
    host_uuid: str
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    target: str = "fleet_deckies"


class Rule:
    """Base class of a rule. The subclass docstring is the rule's documentation:
    its first line is the one-line summary, the rest says what the drift is, why
    it matters and how it converges."""

    id: ClassVar[str]
    code: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()  # sources the rule cannot work without
    fix_safety: ClassVar[str | None] = None  # "safe", "unsafe" or None (report only)

    def subjects(self, fleet: Fleet) -> Iterable[str]:
        """Decky names this rule examines; each is one check (one JUnit testcase)."""
        raise NotImplementedError

    def check(self, fleet: Fleet) -> Iterable[Finding]:
        """Yield a finding for every drift of this class."""
        raise NotImplementedError

    def fix(self, finding: Finding, fleet: Fleet) -> list[Change]:
        """Return the changes that converge ``finding`` (nothing is written here)."""
        return []

    # -- helpers for subclasses -------------------------------------------------

    @property
    def fixable(self) -> bool:
        return self.fix_safety is not None

    def finding(self, fleet: Fleet, decky: str, message: str, **kw: Any) -> Finding:
        kw.setdefault("host_uuid", fleet.host_uuid)
        kw.setdefault("fixable", self.fixable)
        return Finding(rule=self.id, code=self.code, decky=decky, message=message, **kw)

    @classmethod
    def info(cls) -> RuleInfo:
        doc = inspect.cleandoc(cls.__doc__ or "")
        return RuleInfo(
            id=cls.id,
            code=cls.code,
            summary=doc.splitlines()[0] if doc else "",
            doc=doc,
            fixable=cls.fix_safety is not None,
            fix_safety=cls.fix_safety,
            needs=tuple(cls.needs),
        )
