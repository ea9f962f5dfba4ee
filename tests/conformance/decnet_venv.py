"""DECNET 1.0.0's own virtualenv, for the conformance driver (never the project's).

``python3 tests/conformance/decnet_venv.py`` creates it (``.venv-decnet/`` in
the checkout, or ``$DECNET_AUDIT_DECNET_VENV``) with ``pip install
decnet==1.0.0 greenlet`` and prints its interpreter. Cached: nothing is done
when the interpreter imports decnet and the stamp names the same requirements.
This file only runs pip and a subprocess; it never imports DECNET.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = ("decnet==1.0.0", "greenlet")
ROOT = Path(__file__).resolve().parents[2]
STAMP = ".decnet-audit-stamp"


def location() -> Path:
    return Path(os.environ.get("DECNET_AUDIT_DECNET_VENV") or ROOT / ".venv-decnet")


def python(venv: Path | None = None) -> Path:
    return (venv or location()) / "bin" / "python"


def ready(venv: Path | None = None) -> bool:
    venv = venv or location()
    stamp = venv / STAMP
    if not python(venv).exists():
        return False
    # A venv built here for other requirements is rebuilt; one built elsewhere
    # (no stamp, e.g. a shared read-only cache) is judged by the probe alone.
    if stamp.exists() and stamp.read_text().split() != list(REQUIREMENTS):
        return False
    # The import needs DECNET's two secrets; a throwaway pair is enough.
    env = {**os.environ, "DECNET_ADMIN_PASSWORD": "probe", "DECNET_JWT_SECRET": "p" * 64,
           "DECNET_SYSTEM_LOGS": os.devnull}
    code = ("import decnet, greenlet, importlib.metadata as m; "
            "assert m.version('decnet') == '1.0.0', m.version('decnet')")
    probe = subprocess.run([str(python(venv)), "-c", code], env=env, cwd="/",
                           capture_output=True, timeout=120)
    return probe.returncode == 0


def ensure(quiet: bool = True) -> Path:
    """The venv's interpreter, building the venv first if needed (~1 min)."""
    venv = location()
    if ready(venv):
        return python(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python(venv)), "-m", "pip", "install", *(["-q"] if quiet else []),
           *REQUIREMENTS]
    done = subprocess.run(pip, stdout=sys.stderr if not quiet else subprocess.PIPE,
                          stderr=None if not quiet else subprocess.STDOUT, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout or "").splitlines()[-20:])
        raise RuntimeError(f"pip install {' '.join(REQUIREMENTS)} failed "
                           f"(exit {done.returncode}){': ' + tail if tail else ''}")
    (venv / STAMP).write_text(" ".join(REQUIREMENTS) + "\n")
    if not ready(venv):
        raise RuntimeError(f"{venv}: decnet does not import after pip install")
    return python(venv)


if __name__ == "__main__":
    try:
        print(ensure(quiet="-v" not in sys.argv))
    except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
        print(f"decnet_venv: {exc}", file=sys.stderr)
        sys.exit(1)
