"""``--help`` and ``--version`` start fast: neither SQLAlchemy, jinja2 nor
the docker SDK is imported before a run needs it (they took ~0.4 s of a
0.5 s ``--version``)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from decnet_audit import __version__

HEAVY = ("sqlalchemy", "jinja2", "docker", "requests", "pymysql")

PROBE = """
import sys
from decnet_audit.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # argparse's --help exits
    code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[0].split(",")))
sys.stderr.write("HEAVY=" + ",".join(heavy) + "\\n")
sys.exit(code)
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["--list-rules"], ["--fi"],
                                  ["rule", "DA001"]])
def test_no_heavy_import_before_it_is_needed(tmp_path, args):
    p = subprocess.run([sys.executable, "-c", PROBE.replace("sys.argv[0]", repr(",".join(HEAVY))),
                        *args], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert p.returncode in (0, 4), p.stderr
    assert p.stderr.splitlines()[-1] == "HEAVY=", p.stderr


def test_version_is_quick(tmp_path):
    exe = [str(Path(sys.executable).with_name("decnet-audit"))]
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        p = subprocess.run([*exe, "--version"], capture_output=True, text=True, cwd=tmp_path)
        times.append(time.perf_counter() - t0)
        assert p.stdout == f"decnet-audit {__version__}\n"
    # Generous against a loaded CI machine (0.05 s alone); the import test is the real one.
    assert sorted(times)[2] < 1.0, times


def test_only_the_console_script_leaves_its_objects_to_the_exit(tmp_path):
    """The console script (``main()``, about to exit) freezes what the run
    made rather than have one last collection scan it all; an in-process
    caller (``main(argv)``) gets the collector back with everything collectable."""
    probe = ("import gc, sys\nfrom decnet_audit.cli import main\n"
             "sys.argv = ['decnet-audit', '--list-rules']\nmain()\n"
             "script = gc.get_freeze_count()\ngc.unfreeze()\nmain(['--list-rules'])\n"
             "print('PROBE', script > 0, gc.get_freeze_count(), gc.isenabled())\n")
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       cwd=tmp_path, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1] == "PROBE True 0 True"
