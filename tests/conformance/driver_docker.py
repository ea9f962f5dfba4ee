# SPDX-License-Identifier: AGPL-3.0-or-later
"""The conformance driver's ops on containers: the composer's names and
labels, and containers created, stopped and removed on the local image."""

from __future__ import annotations

from pathlib import Path

import docker
from decnet.composer import generate_compose
from decnet.engine import deployer
from driver_core import IMAGE, _config, _docker, op


@op
def compose(args):
    """Containers as ``composer.generate_compose`` defines them: the base
    container and one per non-singleton service, with DECNET's labels and
    those ``docker compose -p PROJECT -f COMPOSE_PATH up`` adds."""
    data = generate_compose(_config(args))
    project = args.get("project", deployer.FLEET_COMPOSE_PROJECT)
    compose_path = args.get("compose_path", "/tmp/decnet-compose.yml")
    out = []
    for key, svc in data["services"].items():
        labels = dict(svc.get("labels") or {})
        labels.update({
            "com.docker.compose.project": project,
            "com.docker.compose.service": key,
            "com.docker.compose.project.config_files": compose_path,
            "com.docker.compose.project.working_dir": str(Path(compose_path).parent),
            "com.docker.compose.container-number": "1",
            "com.docker.compose.oneoff": "False",
        })
        out.append({"service": key, "name": svc["container_name"], "labels": labels})
    return out


@op
def up(args):
    """Create and start the composer's containers on the local busybox image
    (names and labels exactly as DECNET's compose file gives them). Returns
    their names; ``skip`` lists names not to create (already removed ones)."""
    from concurrent.futures import ThreadPoolExecutor

    client = _docker(args)
    skip = set(args.get("skip") or ())
    wanted = [c for c in compose(args) if c["name"] not in skip]

    def start(c):
        client.containers.run(IMAGE, name=c["name"], labels=c["labels"], detach=True,
                              network_mode="none")
        return c["name"]
    try:
        # The engine starts containers concurrently; a fleet comes up in a
        # fraction of the time one by one takes.
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(start, wanted))
    finally:
        client.close()


@op
def docker_stop(args):
    """Stop a container (it exits, as a crashed service does)."""
    client = _docker(args)
    try:
        client.containers.get(args["name"]).stop(timeout=int(args.get("timeout", 1)))
    finally:
        client.close()
    return None


@op
def docker_remove(args):
    client = _docker(args)
    try:
        client.containers.get(args["name"]).remove(force=True)
    except docker.errors.NotFound:
        pass
    finally:
        client.close()
    return None
