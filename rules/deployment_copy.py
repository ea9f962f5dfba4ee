"""deployment-copy (DA009): the state table's deployment copy and the state file disagree."""

from __future__ import annotations

from datetime import UTC, datetime

from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, STATE, Decky
from decnet_audit.ownership import deployed
from decnet_audit.rule import Rule

# Who writes each record (DECNET 1.0.0), for the operator who must choose.
STATE_FILE_WRITERS = ("`decnet deploy`/`decnet teardown` (config.save_state) and the swarm "
                      "agent's mutate, which leave the state table alone")
COPY_WRITERS = ("`decnet mutate` and the API's mutate endpoint (mutator/engine.py: a "
                "mutation is saved only in the state table and the compose file), the API "
                "deploy and the mutate-interval endpoint")


class DeploymentCopy(Rule):
    """The state table's ``deployment`` copy and the state file disagree on a decky.

    DECNET keeps two copies of its fleet: the state file, which ``decnet
    deploy``, ``decnet teardown``, DECNET's reconciler and its CLI read and
    write, and the ``deployment`` key of the database's ``state`` table,
    which the mutator, the API deploy and the mutate endpoints read and
    write. ``decnet mutate`` saves a mutation (``services``,
    ``last_mutated``) only in the state table and the compose file: the
    state file goes stale, its containers are replaced, and DECNET's
    reconciler, reading the state file, calls the decky ``torn_down``. A
    ``decnet deploy`` from the CLI does the opposite: it rewrites the state
    file only.

    Reported per decky and field, saying which copy is newer
    (``last_mutated``) and which of DECNET's paths writes it. The rules that
    judge containers (docker-mismatch, orphan-container) use the copy whose
    services Docker runs. Never reported when the database holds no
    deployment copy (no ``state`` table, no key, or NULL after the API's
    teardown).

    Report only: neither copy is the truth for every DECNET reader, and
    decnet-audit writes only ``fleet_deckies``. Rewriting the state file
    from here would race DECNET's own writers and the compose file; DECNET
    converges both copies itself on the next ``decnet deploy`` of the
    trusted fleet (through the API, which writes both).
    """

    id = "deployment-copy"
    code = "DA009"
    severity = "medium"  # DECNET's two records of the fleet tell two stories
    needs = (STATE, DB)

    def subjects(self, fleet):
        if fleet.deployment is None:
            return []
        return sorted({d.name for d in fleet.deckies or ()} | set(fleet.deployment))

    def check(self, fleet):
        if fleet.deployment is None:
            return
        in_file = {d.name: d for d in fleet.deckies or ()}
        in_copy = fleet.deployment
        for name in self.subjects(fleet):
            a, b = in_file.get(name), in_copy.get(name)
            if b is None:
                yield self.finding(
                    fleet, name,
                    f"{name} is in the state file but not in the state table's deployment copy; "
                    f"the state file is written by {STATE_FILE_WRITERS}",
                    expected="in both copies", actual="state file only", field="presence")
            elif a is None:
                yield self.finding(
                    fleet, name,
                    f"{name} is in the state table's deployment copy but not in the state file "
                    f"(so DECNET's reconciler will delete its row); the copy is written by "
                    f"{COPY_WRITERS}",
                    expected="in both copies", actual="deployment copy only", field="presence")
            else:
                yield from self._fields(fleet, a, b)

    def _fields(self, fleet, a: Decky, b: Decky):
        keys = list(dict.fromkeys([*a.config, *b.config]))
        differ = [k for k in keys if a.config.get(k) != b.config.get(k)]
        if not differ:
            return
        newer = _newer(a, b)
        trusted = deployed(fleet, a.name)[1]
        for key in differ:
            yield self.finding(
                fleet, a.name,
                f"{a.name}.{key}: the state file has {a.config.get(key)!r}, the state table's "
                f"deployment copy {b.config.get(key)!r}; {newer}; containers are judged by "
                f"the {trusted}",
                expected=a.config.get(key), actual=b.config.get(key), field=key)


def _newer(a: Decky, b: Decky) -> str:
    ta, tb = _stamp(a), _stamp(b)
    if ta == tb:
        return (f"both have last_mutated {_when(ta)}: deployed apart (`decnet deploy` from the "
                f"CLI writes only the state file; the API deploy writes both)")
    if tb > ta:
        return (f"the deployment copy is newer (last_mutated {_when(tb)}, the state file "
                f"{_when(ta)}), as written by {COPY_WRITERS}")
    return (f"the state file is newer (last_mutated {_when(ta)}, the copy {_when(tb)}), as "
            f"written by {STATE_FILE_WRITERS}")


def _stamp(d: Decky) -> float:
    value = d.config.get("last_mutated")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _when(t: float) -> str:
    if not t:
        return "0 (never mutated)"
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


@hookimpl
def decnet_audit_rules():
    return [DeploymentCopy]
