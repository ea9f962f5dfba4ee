"""The fixed scenarios of ``scenarios.py`` on SQLite and MariaDB: properties 1-4.

``DECNET_AUDIT_SCENARIO_TABLE=PATH`` appends one JSON line per scenario and
backend (its properties and why each failed) for the scenario table.
"""

from __future__ import annotations

import json
import os

import pytest
from judging import judge
from oracle import BACKENDS
from scenarios import SCENARIOS


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(make_world, backend, scenario):
    result = judge(make_world, backend, scenario)
    table = os.environ.get("DECNET_AUDIT_SCENARIO_TABLE")
    if table:
        with open(table, "a") as fh:
            fh.write(json.dumps({"scenario": scenario.name, "backend": backend,
                                 "properties": result}) + "\n")
    failed = {k: v for k, v in result.items() if v}
    assert not failed, failed
