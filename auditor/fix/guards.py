"""The engine's guards on what a fix may do, whatever rule asks for it.

* **scope**: a change aimed at another host's row, at the row's key, at an
  unknown column, or at a container that is not DECNET's is refused;
* **ownership**: a container is removed only with proof that it is this
  deployment's (its compose file is the state file's ``compose_path``);
* **empty state**: with no decky for this host in the state file, no run
  deletes the host's rows or removes its containers unless told to;
* **mass removal**: many containers at once need ``--confirm-removals``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..decnet import KEY, NONKEY
from ..model import REFUSED, SKIPPED, STATE, Fleet
from ..ownership import owner
from ..rule import CONTAINER, FLEET_TABLE, Change
from .sql import image

if TYPE_CHECKING:
    from .plan import Options, Planned

MAX_REMOVAL_SHARE = 0.10  # ... and at most this share of the deployment's containers


def refusal(change: Change, fleet: Fleet, options: Options) -> tuple[str, str] | None:
    """The scope guard: why ``change`` may not be applied from this host."""
    local = fleet.host_uuid
    if not isinstance(change, Change):
        return REFUSED, f"refused: the rule returned {type(change).__name__}, not a Change"
    if change.host_uuid != local:
        return REFUSED, (f"refused: the change targets host {change.host_uuid!r} "
                         f"({change.target} {change.name}); every write is bound to this host "
                         f"({local!r}); host {change.host_uuid!r} must act itself")
    if change.target == CONTAINER:
        return _container_refusal(change, fleet, options)
    if change.target != FLEET_TABLE:
        return REFUSED, f"refused: unknown target {change.target!r}"
    if change.op not in ("insert", "update", "delete"):
        return REFUSED, f"refused: unknown operation {change.op!r} on fleet_deckies"
    bad = sorted(set(change.values) - set(NONKEY))
    if bad:
        what = "the row's key cannot change" if set(bad) & set(KEY) else "unknown columns"
        return REFUSED, f"refused: {what} ({', '.join(bad)})"
    if not _encodable({"name": change.name}):
        # The database cannot take it: one such write would fail the whole transaction.
        return SKIPPED, "not fixed: the decky name is not valid UTF-8 text; fix it by hand"
    if change.op != "delete" and not _encodable(change.values):
        return SKIPPED, "not fixed: a value is not valid UTF-8 text"
    row = fleet.local_rows.get(change.name)
    if change.op == "insert":
        if row is not None:
            return REFUSED, f"refused: insert of ({local}, {change.name}), but the audit saw it"
        for col in ("services", "state"):
            if change.values.get(col) is None:
                return SKIPPED, f"not fixed: no value for {col} (NOT NULL): it would be a guess"
    elif row is None:
        return REFUSED, f"refused: {change.op} of ({local}, {change.name}), a row the audit " \
                        f"did not see"
    elif not _encodable(image(row)):
        return SKIPPED, "not fixed: the row holds text that is not valid UTF-8; fix it by hand"
    return None


def _container_refusal(change: Change, fleet: Fleet, options: Options) -> tuple[str, str] | None:
    if change.op != "remove":
        return REFUSED, f"refused: unknown operation {change.op!r} on a container"
    if not options.unsafe:
        return SKIPPED, "unsafe fix: removing a container needs --unsafe-fixes"
    if not options.live_docker:
        return SKIPPED, "not fixed: Docker was read from a snapshot; containers are only " \
                        "removed from a live engine"
    c = fleet.containers_by_name.get(change.name)
    if c is None:
        return REFUSED, f"refused: no container {change.name} was observed"
    if change.values.get("id") not in (None, c.id):
        return REFUSED, f"refused: container {change.name} is not the one observed"
    proof = owner(fleet, c)
    if not proof.ours:
        # A DECNET label names a decky, not a deployment: two fleets on one
        # engine label alike. Only compose's record of the file proves it.
        return REFUSED, f"refused: no proof that container {change.name} belongs to this " \
                        f"deployment ({proof.why}); remove it by hand if it is this host's"
    return None


def _encodable(values: dict[str, Any]) -> bool:
    try:
        for v in values.values():
            if isinstance(v, str):
                v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def guard_empty_state(planned: list[Planned], fleet: Fleet, options: Options) -> None:
    # With no decky for this host in the state file, every row of the host
    # looks DB-only and every DECNET container an orphan: a missing or wrong
    # --state must not empty the host.
    doomed = [p for p in planned if p.op in ("delete", "remove") and p.status is None]
    if not doomed or fleet.local_deckies or options.allow_empty_state:
        return
    src = fleet.sources.get(STATE)
    where = f" ({src.where}: {src.detail})" if src else ""
    rows = sum(1 for p in doomed if p.op == "delete")
    what = " and ".join(part for part in (
        f"{rows} row{'s' if rows != 1 else ''}" if rows else "",
        f"{len(doomed) - rows} container{'s' if len(doomed) - rows != 1 else ''}"
        if len(doomed) > rows else "") if part)
    for p in doomed:
        p.status, p.detail = REFUSED, (
            f"refused: the state file{where} lists no decky for host {fleet.host_uuid!r}, so "
            f"this run would remove {what} of it; if nothing is deployed, pass "
            f"--allow-empty-state")


def guard_mass_removal(planned: list[Planned], fleet: Fleet, options: Options) -> None:
    # Argo CD asks before a prune: a run that would remove many containers at
    # once is more likely reading the wrong records than cleaning up.
    doomed = [p for p in planned if p.op == "remove" and p.status is None]
    why = None if options.confirm_removals or not doomed else \
        mass_removal(doomed, fleet, options.max_removals)
    for p in doomed if why else ():
        p.status, p.detail = REFUSED, (
            f"refused: a mass removal: this run would remove {why}; check the state file "
            f"and database it read, then pass --confirm-removals")


def mass_removal(doomed: list[Planned], fleet: Fleet, max_removals: int) -> str | None:
    """Why removing ``doomed`` at once is a mass removal, or None. More than
    ``--max-removals`` containers always is; so is more than 10 % of this
    deployment's containers (rounded up), unless they are one decky's: the
    usual clean-up of one orphan decky on a small fleet needs no confirmation,
    a wrong state file that orphans many deckies does."""
    deckies = {f.decky for p in doomed for f in p.findings}
    fleet_size = sum(1 for c in fleet.containers or () if owner(fleet, c).ours)
    share = math.ceil(fleet_size * MAX_REMOVAL_SHARE)
    what = f"{len(doomed)} containers of {len(deckies)} deck{'y' if len(deckies) == 1 else 'ies'}"
    if len(doomed) > max_removals:
        return f"{what}, more than --max-removals {max_removals}"
    if len(doomed) > share and len(deckies) > 1:
        return (f"{what}, more than {MAX_REMOVAL_SHARE:.0%} of this deployment's "
                f"{fleet_size} containers ({share})")
    return None
