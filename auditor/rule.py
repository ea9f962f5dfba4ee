"""The contract every rule, built-in or third-party, fulfils."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .decnet import FLEET_TABLE
from .model import DB, WORKER, Finding, Fleet, RuleInfo


class _Now:
    """Stands for "the moment the fix is applied" in ``Change.values``: the
    engine puts one timestamp (naive UTC, like DECNET) on every write of a run."""

    def __repr__(self) -> str:
        return "NOW"


NOW = _Now()

# The targets of a Change: DECNET's table of deckies, or a Docker container.
CONTAINER = "container"

# Worst first: ``--fail-on medium`` means medium or high.
SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class Change:
    """One write a fix intends, as data: the engine (not the rule) applies it,
    bound to the local host and conditional on what the audit saw.

    On ``target="fleet_deckies"``, ``op`` is ``insert``, ``update`` or
    ``delete`` of the row ``(host_uuid, name)``; ``values`` are the new column
    values (``NOW`` for "the time of the write"; the engine always sets
    ``updated_at``). The row's key can never be changed, and ``host_uuid``
    must be the local host's: anything else is refused by the engine.

    On ``target="container"``, ``op`` is ``remove`` and ``name`` the container
    as Docker lists it (``values`` may carry its ``id``). Always unsafe, only
    for containers carrying DECNET's ``decnet.fleet.decky`` label, applied
    after the database commits, and not undoable.
    """

    op: str
    host_uuid: str
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    target: str = FLEET_TABLE


class Rule:
    """Base class of a rule. The subclass docstring is the rule's documentation:
    its first line is the one-line summary, the rest says what the drift is, why
    it matters and how it converges."""

    id: ClassVar[str]
    code: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()  # sources the rule cannot work without
    #: Sources the *fix* needs on top of ``needs``: when one was not read, the
    #: engine does not call ``fix()`` and says why (no write from a guess).
    fix_needs: ClassVar[tuple[str, ...]] = ()
    #: "safe" (applied by ``--fix``), "unsafe" (only with ``--unsafe-fixes``)
    #: or None (report only). The docstring says why.
    fix_safety: ClassVar[str | None] = None
    #: Names of the class attributes that the config file may set
    #: (``[rules.<id>] max-age-minutes = 60``); see decnet_audit.config.options.
    options: ClassVar[tuple[str, ...]] = ()
    #: How much the drift matters: "high", "medium" or "low" (see SEVERITIES).
    #: Shown in --list-rules and every report; ``--fail-on high`` uses it.
    severity: ClassVar[str] = "medium"
    #: Host roles the rule applies to (``"master"``, ``"worker"``); None: any.
    roles: ClassVar[tuple[str, ...] | None] = None
    #: A DECNET worker keeps no database, so a rule that ``needs`` the
    #: database does not apply there, unless it sets this: it then reads a
    #: worker's missing database as an empty record.
    on_worker: ClassVar[bool] = False

    def not_applicable(self, fleet: Fleet) -> str | None:
        """Why the rule does not apply to this host (it is then not run, and
        reported as not applicable: neither passed nor an error), or None."""
        if self.roles is not None and fleet.role not in self.roles:
            return f"applies only on a {' or '.join(self.roles)}, this host is a {fleet.role}"
        if fleet.role == WORKER and DB in self.needs and not self.on_worker \
                and DB not in fleet.sources:
            return "needs fleet_deckies: a DECNET swarm worker keeps no database"
        return None

    def subjects(self, fleet: Fleet) -> Iterable[str]:
        """Decky names this rule examines; each is one check (one JUnit testcase)."""
        raise NotImplementedError

    def check(self, fleet: Fleet) -> Iterable[Finding]:
        """Yield a finding for every drift of this class."""
        raise NotImplementedError

    def fix(self, finding: Finding, fleet: Fleet) -> list[Change]:
        """Return the changes that converge ``finding`` (nothing is written here).

        Called only for unwaived findings of this rule, with every source of
        ``needs`` and ``fix_needs`` observed. Return ``[]`` when nothing can
        be done; the engine checks scope, safety and conflicts."""
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
            fix_needs=tuple(cls.fix_needs),
            severity=cls.severity,
        )
