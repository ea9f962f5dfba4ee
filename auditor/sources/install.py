"""Where DECNET is installed on this host, found from files alone.

DECNET keeps its state file and its SQLite database in its root,
``Path(decnet/config.py).parent.parent``: the ``site-packages`` directory
of a ``pip install decnet``, the checkout of an editable install. The
auditor never imports DECNET (1.4 s, and it needs secrets in the
environment); it follows the ``decnet`` console script on ``PATH`` to the
interpreter that runs it, and that interpreter's ``site-packages`` to the
package and its version (the dist-info ``METADATA``).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import UsageError

SCRIPT = "decnet"


@dataclass(frozen=True)
class DecnetInstall:
    """DECNET's root and version, and how they were found."""

    root: Path
    version: str | None
    found_by: str  # "--decnet-root" or "`decnet` on PATH: /usr/local/bin/decnet"

    @property
    def state_file(self) -> Path:
        return self.root / "decnet-state.json"  # config.py: STATE_FILE

    @property
    def sqlite_db(self) -> Path:
        return self.root / "decnet.db"  # web/db/sqlite/repository.py: db_path

    def describe(self) -> str:
        version = self.version or "version unknown"
        return f"DECNET {version}, root {self.root} ({self.found_by})"


def find_install(explicit: str | None, path_env: str | None) -> DecnetInstall | None:
    """``--decnet-root`` if given (it must hold DECNET), else the installation
    behind the ``decnet`` script on ``path_env``; None when there is none."""
    if explicit:
        root = Path(explicit).expanduser().absolute()
        if not (root / "decnet" / "config.py").is_file():
            raise UsageError(f"--decnet-root {explicit}: no decnet/config.py there "
                             f"(expected DECNET's site-packages or checkout)")
        return DecnetInstall(root, _version(root, root), "--decnet-root")
    script = shutil.which(SCRIPT, path=path_env) if path_env else None
    if script is None:
        return None
    for site in _site_packages_of(Path(script)):
        root = _root_in(site)
        if root is not None:
            return DecnetInstall(root, _version(site, root), f"`decnet` on PATH: {script}")
    return None


def _site_packages_of(script: Path) -> list[Path]:
    """Candidate ``site-packages`` directories of the interpreter that runs
    ``script``: its shebang's prefix first, then the script's own prefix."""
    prefixes = []
    interpreter = _interpreter(script)
    if interpreter is not None:
        # Not resolved: a virtualenv's bin/python is a link to the base
        # interpreter, whose prefix is not the virtualenv's.
        prefixes.append(interpreter.parent.parent)
    prefixes.append(script.resolve().parent.parent)
    out: list[Path] = []
    for prefix in prefixes:
        for lib in ("lib", "lib64"):
            out.extend(sorted((prefix / lib).glob("python3*/site-packages"), reverse=True))
    return list(dict.fromkeys(out))


def _interpreter(script: Path) -> Path | None:
    try:
        with script.open("rb") as f:
            head = f.read(1024).decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    if not head or not head[0].startswith("#!"):
        return None
    words = head[0][2:].split()
    if words and words[0].endswith("/sh") and len(head) > 1 and head[1].startswith("'''exec'"):
        # pip's trampoline for an interpreter path too long for a shebang:
        #   #!/bin/sh
        #   '''exec' "/very/long/venv/bin/python" "$0" "$@"
        parts = head[1].split('"')
        return Path(parts[1]) if len(parts) > 1 else None
    if words and Path(words[0]).name == "env" and len(words) > 1:
        found = shutil.which(words[1])
        return Path(found) if found else None
    return Path(words[0]) if words else None


def _root_in(site: Path) -> Path | None:
    if (site / "decnet" / "config.py").is_file():
        return site
    # An editable install leaves the package in its checkout; pip records
    # where in the dist-info's direct_url.json (PEP 610).
    for info in sorted(site.glob("decnet-*.dist-info")):
        try:
            doc = json.loads((info / "direct_url.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        url = urlparse(doc.get("url", "")) if isinstance(doc, dict) else None
        if url is not None and url.scheme == "file":
            checkout = Path(unquote(url.path))
            if (checkout / "decnet" / "config.py").is_file():
                return checkout
    return None


def _version(site: Path, root: Path) -> str | None:
    for where in dict.fromkeys((site, root)):
        for info in sorted(where.glob("decnet-*.dist-info"), reverse=True):
            try:
                with (info / "METADATA").open(encoding="utf-8", errors="replace") as f:
                    for line in f:
                        if line.startswith("Version:"):
                            return line.split(":", 1)[1].strip()
                        if not line.strip():
                            break  # the headers end at the first blank line
            except OSError:
                continue
    return None


def path_of(env) -> str | None:
    return env.get("PATH", os.defpath)
