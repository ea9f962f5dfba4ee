"""A clean install: building the package draws no setuptools warning (the
templates folder was once "absent from packages"), and the wheel carries the
HTML report's templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARNINGS = ("Warning", "would be ignored", "deprecated")


def test_the_wheel_builds_without_warnings_and_carries_the_templates(tmp_path):
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                        "-w", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    # pip's own notes about this machine's package indexes are not the package's.
    said = [line for line in (p.stdout + p.stderr).splitlines()
            if not line.startswith("WARNING: Location ")]
    assert not [line for line in said if any(w in line for w in WARNINGS)], said
    (wheel,) = tmp_path.glob("decnet_audit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in ("report.html.j2", "report.css", "report.js"):
        assert f"decnet_audit/reports/templates/{template}" in names
