"""A small fixable fleet for the hardening tests of ``--fix`` and ``undo``.

The state file lists deckies that have no row (json-only inserts them);
Docker is an empty ``docker ps`` capture, so no engine is needed and the
inserted rows say ``torn_down``. Peer rows sit beside them and must never
change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kit.fleet import decky_config, unique, write_state

LOCAL = "local"


class World:
    def __init__(self, tmp_path: Path, db, names: list[str] | None = None, n: int = 3):
        self.tmp, self.db = tmp_path, db
        self.names = names if names is not None else [unique("hd") for _ in range(n)]
        self.state = write_state(tmp_path / "state.json", [decky_config(x) for x in self.names])
        self.snap = tmp_path / "empty.jsonl"
        self.snap.write_text("")
        db.insert("peer-1", unique("peer"), state="running", last_error="theirs")
        self.peers = self.peer_rows()

    def args(self, *more: str) -> list[str]:
        return ["--state", str(self.state), "--db", self.db.url, "--docker-snapshot",
                str(self.snap), "--host-uuid", LOCAL, "--select", "json-only", *more]

    def local_rows(self) -> list[dict]:
        return [r for r in self.db.rows() if r["host_uuid"] == LOCAL]

    def peer_rows(self) -> list[dict]:
        return [r for r in self.db.rows() if r["host_uuid"] != LOCAL]


def reseal(path: Path, doc: dict) -> None:
    """Write ``doc`` as a journal sealed with this test run's key: a journal
    its owner changed, which only the structural checks can catch."""
    from decnet_audit.fix import journalkey

    body = {k: v for k, v in doc.items() if k != "mac"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")
    doc = {**body, "mac": journalkey.seal(journalkey.load(os.environ, create=False), canonical)}
    path.write_text(json.dumps(doc, indent=2))
    path.chmod(0o600)
