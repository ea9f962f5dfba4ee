"""worker-as-local (DA010): a swarm worker audited, or reconciled, as host ``local``."""

from __future__ import annotations

from collections import Counter

from decnet_audit.decnet import LOCAL_HOST as LOCAL_SENTINEL
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, STATE
from decnet_audit.rule import Rule

DECNET_BUG = ("DECNET's `decnet reconcile` always runs as host 'local' (cli/reconciler.py calls "
              "reconcile_once(repo) without host_uuid), also on a swarm worker")


class WorkerAsLocal(Rule):
    """A swarm worker's deckies are handled as those of host ``local``.

    On a swarm worker the state file names the worker's own uuid on every
    decky (DECNET reads it from ``/etc/decnet/decnet.ini`` ``[agent]
    host-uuid``), and its rows are the worker's. Two things go wrong there:

    * **DECNET's reconciler runs as ``local``** (``cli/reconciler.py``: a
      DECNET bug): it lists the rows of host ``local``, never the worker's,
      so it re-inserts every decky on every tick and never reaches zero
      work; and rows of host ``local`` left from before the host was
      enrolled, which mirror the worker's deckies, are kept and have their
      state rewritten forever instead of being deleted. Reported for each
      such ``local`` row, when this run is the worker.
    * **This run is host ``local``** while every decky of the state file
      names one other host: the host uuid was not found (no ``[agent]
      host-uuid``, no ``DECNET_HOST_UUID``), and every other rule would
      judge the worker's own deckies as another host's.

    Report only: the ``local`` rows are another host's from the worker's
    point of view, and DECNET's reconciler, as it is, would write them again.
    """

    id = "worker-as-local"
    code = "DA010"
    severity = "medium"  # a worker's deckies judged as another host's
    needs = (STATE, DB)

    def subjects(self, fleet):
        return sorted(self._mirrored(fleet) | set(self._named_host(fleet)[1]))

    def check(self, fleet):
        host, names = self._named_host(fleet)
        for name in sorted(names):
            yield self.finding(
                fleet, name,
                f"every decky of the state file names host {host!r}, but this run is host "
                f"{fleet.host_uuid!r}: set [agent] host-uuid in decnet.ini (as the enrolment "
                f"bundle does), DECNET_HOST_UUID, or pass --host-uuid {host}",
                expected=f"host {host}", actual=f"host {fleet.host_uuid}", field="host_uuid")
        for name in sorted(self._mirrored(fleet)):
            yield self.finding(
                fleet, name,
                f"row ({LOCAL_SENTINEL}, {name}) mirrors this worker's decky {name} (host "
                f"{fleet.host_uuid!r} in the state file): {DECNET_BUG}; it keeps this row and "
                f"re-inserts ({fleet.host_uuid}, {name}) on every tick. Delete the "
                f"{LOCAL_SENTINEL!r} row by hand once DECNET's reconciler runs as the worker",
                expected=f"no row of host {LOCAL_SENTINEL!r} on worker {fleet.host_uuid}",
                actual=f"row ({LOCAL_SENTINEL}, {name})", field="host_uuid")

    @staticmethod
    def _mirrored(fleet) -> set[str]:
        if fleet.host_uuid == LOCAL_SENTINEL:
            return set()
        mine = {d.name for d in fleet.deckies or () if d.host_uuid == fleet.host_uuid}
        return {r.name for r in fleet.rows or ()
                if r.host_uuid == LOCAL_SENTINEL and r.name in mine}

    @staticmethod
    def _named_host(fleet) -> tuple[str | None, list[str]]:
        if fleet.host_uuid != LOCAL_SENTINEL or not fleet.deckies:
            return None, []
        hosts = Counter(d.host_uuid for d in fleet.deckies)
        if len(hosts) != 1 or None in hosts or LOCAL_SENTINEL in hosts:
            return None, []
        (host,) = hosts
        # A swarm master's state file may name one worker on every decky:
        # the master has that worker enrolled (swarm_hosts); a worker has not.
        if fleet.enrolled_hosts and host in fleet.enrolled_hosts:
            return None, []
        return host, [d.name for d in fleet.deckies]


@hookimpl
def decnet_audit_rules():
    return [WorkerAsLocal]
