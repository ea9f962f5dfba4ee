# SPDX-License-Identifier: AGPL-3.0-or-later
"""The driver's swarm ops: a swarm master's tables written by DECNET 1.0.0's
own swarm code (issue 13).

Registered into ``driver_core.OPS`` by ``register(driver_core)``. Every
write goes through DECNET's repository (``add_swarm_host``,
``upsert_decky_shard``, ``update_swarm_host``, ``delete_decky_shards_for_host``,
``delete_swarm_host``) with the payloads DECNET's swarm endpoints build: the
enrolment's host row (``api_enroll_host``), the dispatch's shard
(``api_deploy_swarm._shard_payload``) and the heartbeat handler itself
(``api_heartbeat.heartbeat``, called with the worker's pinned certificate).

Arguments: ``db`` as for every op; ``clock_offset`` (seconds) shifts
DECNET's ``datetime.now`` in the heartbeat handler and the shard repository,
so a heartbeat can be sent "in the past".
"""

from __future__ import annotations

import hashlib
import types
from datetime import UTC, datetime, timedelta


def register(drv) -> None:
    """Add the swarm ops to ``drv.OPS`` (``drv``: driver_core, with the
    repository and event loop the other ops use)."""
    class Clock(datetime):
        offset = timedelta(0)

        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + cls.offset

    m = types.SimpleNamespace()

    def load() -> None:
        # DECNET's swarm router is imported on the first swarm op, not when
        # the driver starts: its import builds the database engine, so every
        # driver process (one started for DECNET's settings without a
        # database password among them) would need a database.
        if not vars(m):
            from decnet.config import DeckyConfig
            from decnet.web.db.sqlmodel_repo import deckies as shard_repo_module
            from decnet.web.router.swarm import api_deploy_swarm, api_heartbeat

            # The handler stamps last_heartbeat/last_seen, the repository updated_at.
            api_heartbeat.datetime = Clock
            shard_repo_module.datetime = Clock
            m.DeckyConfig, m.api_deploy_swarm, m.api_heartbeat = (
                DeckyConfig, api_deploy_swarm, api_heartbeat)

    def shifted(args):
        load()
        Clock.offset = timedelta(seconds=float(args.get("clock_offset") or 0))

    def repo(args):
        load()
        return drv._repo(args["db"])

    def fingerprint(uuid: str) -> str:
        return hashlib.sha256(f"decnet-audit-worker-{uuid}".encode()).hexdigest()

    def swarm_enroll(args):
        """``add_swarm_host`` with the row ``POST /swarm/enroll`` writes
        (``uuid``, ``name``, ``address``; the certificate is a stand-in
        fingerprint the heartbeat op presents)."""
        uuid = args["uuid"]
        drv._run(repo(args).add_swarm_host({
            "uuid": uuid, "name": args.get("name", uuid), "address": args["address"],
            "agent_port": 8765, "status": "enrolled",
            "client_cert_fingerprint": fingerprint(uuid), "updater_cert_fingerprint": None,
            "cert_bundle_path": f"/nonexistent/ca/workers/{uuid}",
            "enrolled_at": datetime.now(UTC), "notes": None,
        }))
        return uuid

    def swarm_dispatch(args):
        """A successful swarm deploy to one worker (``api_deploy_swarm._dispatch``
        after the agent answered): each decky's shard, then the host ``active``."""
        shifted(args)
        host = args["host_uuid"]
        state = args.get("state", "running")
        for d in args["deckies"]:
            payload = m.api_deploy_swarm._shard_payload(m.DeckyConfig(**d), host, state, None)
            drv._run(repo(args).upsert_decky_shard(payload))
        drv._run(repo(args).update_swarm_host(host, {"status": "active"}))
        return len(args["deckies"])

    def swarm_shard(args):
        """One ``upsert_decky_shard`` of the dispatch payload, whatever the host:
        what a heartbeat that raced a decommission writes (the handler checked
        the host, the decommission then deleted host and shards, the upserts
        land). MariaDB's foreign key refuses it; SQLite, as DECNET opens it,
        does not enforce one."""
        shifted(args)
        d = m.DeckyConfig(**args["decky"])
        payload = m.api_deploy_swarm._shard_payload(d, args["host_uuid"],
                                                  args.get("state", "running"), None)
        drv._run(repo(args).upsert_decky_shard(payload))
        return None

    def swarm_heartbeat(args):
        """``POST /swarm/heartbeat`` from a worker: DECNET's handler, given the
        worker's state-file deckies and which of them run (``running``:
        names). Its mTLS pin is satisfied with the enrolled fingerprint."""
        shifted(args)
        host = args["host_uuid"]
        running = set(args.get("running") or ())
        deckies = args.get("deckies") or []
        body = {"deployed": bool(deckies), "deckies": deckies,
                "runtime": {d["name"]: {"running": d["name"] in running} for d in deckies}}
        req = m.api_heartbeat.HeartbeatRequest(host_uuid=host, agent_version="1.0.0",
                                             status=body)
        saved = m.api_heartbeat._extract_peer_fingerprint

        class Peer:
            scope: dict = {}

        m.api_heartbeat._extract_peer_fingerprint = lambda _scope: fingerprint(host)
        try:
            drv._run(m.api_heartbeat.heartbeat(req, Peer(), repo(args)))
        finally:
            m.api_heartbeat._extract_peer_fingerprint = saved
        return None

    def swarm_update_host(args):
        """``update_swarm_host(uuid, fields)``, e.g. ``{"status": "decommissioned"}``
        (the status DECNET's readers skip) or ``unreachable`` (``POST /swarm/check``)."""
        fields = dict(args["fields"])
        for key in ("last_heartbeat",):
            if isinstance(fields.get(key), str):
                fields[key] = datetime.fromisoformat(fields[key])
        drv._run(repo(args).update_swarm_host(args["uuid"], fields))
        return None

    def swarm_decommission(args):
        """``DELETE /swarm/hosts/{uuid}``'s master-side cleanup."""
        drv._run(repo(args).delete_decky_shards_for_host(args["uuid"]))
        drv._run(repo(args).delete_swarm_host(args["uuid"]))
        return None

    def swarm_rows(args):
        async def go():
            r = repo(args)
            return {"hosts": await r.list_swarm_hosts(), "shards": await r.list_decky_shards()}
        return drv._run(go())

    for fn in (swarm_enroll, swarm_dispatch, swarm_shard, swarm_heartbeat, swarm_update_host,
               swarm_decommission, swarm_rows):
        drv.OPS[fn.__name__] = fn

