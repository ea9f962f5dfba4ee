"""``--diff`` of config-drift shows the key that changed, not the whole
``decky_config`` twice with its keys re-sorted."""

from __future__ import annotations

import json

from decnet_audit.fix.show import change_text, key_diff
from kit.example import example_args, rows
from kit.fleet import run_cli


def test_diff_of_config_drift_is_per_key(tmp_path):
    args = example_args(tmp_path)
    before = rows(tmp_path)
    run = run_cli(*args, "--diff", "-k", "config-drift", cwd=tmp_path)
    assert run.rc == 1, run.out + run.err
    preview = run.out.split("fix preview")[1].split(" planned")[0]
    lines = [line.strip() for line in preview.splitlines()]
    assert "- decky_config.hostname 'mx-old'" in lines
    assert "+ decky_config.hostname 'mx-03'" in lines
    assert preview.count("mx-old") == 1 and preview.count("mx-03") == 1
    assert '"base_image"' not in preview  # no copy of the whole object
    assert any(line.startswith("decky_config") and "13 other keys unchanged" in line
               for line in lines)
    assert rows(tmp_path) == before  # --diff writes nothing


def test_a_key_only_on_one_side_is_one_line():
    lines = key_diff("decky_config", json.dumps({"a": 1, "b": 2}), json.dumps({"a": 1, "c": 3}))
    assert [line.split()[:2] for line in lines[:2]] == [["-", "decky_config.b"],
                                                        ["+", "decky_config.c"]]
    assert lines[-1].split(None, 1)[1] == "(1 other key unchanged)"


def test_a_value_that_is_not_a_json_object_is_shown_whole():
    assert key_diff("services", '["ssh"]', '["ssh", "ftp"]') is None
    assert key_diff("decky_config", "not json", "{}") is None
    assert change_text("state", "running", "degraded") == "state 'running' -> 'degraded'"
    assert change_text("decky_config", '{"h": "a", "x": 1}', '{"x": 1, "h": "b"}') == \
        "decky_config.h 'a' -> 'b'"
