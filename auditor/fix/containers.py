"""Removing DECNET containers for unsafe fixes (``orphan-container``).

Runs only after the database transaction committed. Each removal is
conditional like a row write: the container must still be the one the audit
saw (same id, same name, still labelled ``decnet.fleet.decky``); otherwise it
is a conflict and left alone. A removed container cannot be brought back by
``undo``: its journal entry says so.
"""

from __future__ import annotations

from ..decnet import DECKY_LABEL
from ..model import CONFLICT, FIXED, SKIPPED
from ..sources.docker import API_TIMEOUT
from .plan import Planned


def remove(planned: list[Planned], base_url: str | None) -> None:
    """Remove each planned container, setting its status and detail."""
    if not planned:
        return
    import docker
    from docker.errors import DockerException, NotFound

    try:
        client = (docker.APIClient(base_url=base_url, timeout=API_TIMEOUT) if base_url
                  else docker.from_env(timeout=API_TIMEOUT).api)
    except DockerException as exc:
        for p in planned:
            p.status, p.detail = SKIPPED, f"not removed: cannot reach the Docker engine: {exc}"
        return
    try:
        for p in planned:
            seen = p.container
            try:
                now = client.inspect_container(seen.id)
            except NotFound:
                p.status, p.detail = SKIPPED, f"container {p.name} is already gone"
                continue
            labels = (now.get("Config") or {}).get("Labels") or {}
            if now.get("Name", "").lstrip("/") != seen.name or \
                    labels.get(DECKY_LABEL) != seen.labels.get(DECKY_LABEL):
                p.status, p.detail = CONFLICT, (f"container {p.name} changed since the audit "
                                                f"(name or labels); left alone")
                continue
            try:
                client.remove_container(seen.id, force=True)
            except NotFound:
                p.status, p.detail = SKIPPED, f"container {p.name} is already gone"
                continue
            p.status, p.detail = FIXED, f"removed container {p.name} ({seen.id[:12]}); " \
                                        f"not undoable"
    except (DockerException, OSError) as exc:
        for p in planned:
            if p.status is None:
                p.status, p.detail = SKIPPED, f"not removed: Docker error: {exc}"
    finally:
        client.close()
