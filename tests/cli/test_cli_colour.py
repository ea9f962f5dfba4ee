"""Colour as pytest and ruff users expect: on a terminal only, never with
``TERM=dumb`` or ``NO_COLOR``, and ``--color auto|always|never`` to decide."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from kit.example import example_args

EXE = str(Path(sys.executable).with_name("decnet-audit"))
ESC = "\x1b["


def run(tmp, *args, tty: bool, **env) -> str:
    full = {k: v for k, v in os.environ.items()
            if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")} | env
    if not tty:
        return subprocess.run([EXE, *args], capture_output=True, text=True, env=full,
                              cwd=tmp, timeout=60).stdout
    master, slave = pty.openpty()
    p = subprocess.Popen([EXE, *args], stdout=slave, stderr=subprocess.DEVNULL, env=full,
                         cwd=tmp)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    p.wait(timeout=60)
    return out.decode()


@pytest.mark.parametrize("args, tty, env, coloured", [
    ([], True, {"TERM": "xterm"}, True),
    ([], True, {"TERM": "dumb"}, False),
    ([], True, {"TERM": "xterm", "NO_COLOR": "1"}, False),
    ([], False, {"TERM": "xterm"}, False),
    (["--color", "never"], True, {"TERM": "xterm"}, False),
    (["--color", "always"], False, {"TERM": "dumb"}, True),
    (["--color", "always"], False, {"NO_COLOR": "1"}, True),  # the flag is explicit
    (["--color", "auto"], True, {"TERM": "dumb"}, False),
], ids=["tty", "term-dumb", "no-color", "pipe", "never", "always-pipe", "always-no-color",
        "auto-dumb"])
def test_colour(tmp_path, args, tty, env, coloured):
    out = run(tmp_path, *example_args(tmp_path), "-q", *args, tty=tty, **env)
    assert "drifted" in out
    assert (ESC in out) is coloured, repr(out)


def test_an_unknown_colour_mode_is_a_usage_error(tmp_path):
    p = subprocess.run([EXE, "--color", "sometimes"], capture_output=True, text=True,
                       cwd=tmp_path, timeout=60)
    assert p.returncode == 4
    assert "invalid choice: 'sometimes'" in p.stderr
