"""The example alerting rules (examples/prometheus/) under ``promtool``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kit.prometheus import promtool

pytestmark = pytest.mark.prometheus

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "prometheus"
RULES, TESTS = "decnet-audit.rules.yml", "decnet-audit.rules.test.yml"


def test_rules_are_valid():
    p = subprocess.run([promtool(), "check", "rules", str(EXAMPLES / RULES)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "SUCCESS: 5 rules found" in p.stdout


def test_rules_pass_their_promtool_tests():
    p = subprocess.run([promtool(), "test", "rules", TESTS], cwd=EXAMPLES,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "SUCCESS" in p.stdout


def test_a_broken_threshold_fails_the_tests(tmp_path):
    # The tests can fail: with the day's grace removed, drift alerts at once
    # and the "not firing at 23 h" expectation breaks.
    shutil.copy(EXAMPLES / TESTS, tmp_path / TESTS)
    text = (EXAMPLES / RULES).read_text()
    assert "for: 1d" in text
    (tmp_path / RULES).write_text(text.replace("for: 1d", "for: 1h"))
    p = subprocess.run([promtool(), "test", "rules", TESTS], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "DecnetDriftPresent" in p.stdout + p.stderr
