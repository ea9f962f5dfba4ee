"""Reading ``decnet-state.json``: DECNET's sample, tolerated extras, and the
message an operator gets for a file that is broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decnet_audit.errors import SourceError
from decnet_audit.sources.statefile import parse_state, read_state, resolve_state_path
from kit.fleet import decky_config, write_state

DATA = Path(__file__).parent.parent / "data"
SAMPLE = DATA / "decnet-state.sample.json"
SHARED_SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "decnet" / SAMPLE.name


def test_sample_copy_matches_shared_original():
    if not SHARED_SAMPLE.exists():
        pytest.skip("no ../shared/decnet beside this checkout")
    assert SAMPLE.read_text() == SHARED_SAMPLE.read_text()


def test_decnets_own_sample_is_read():
    deckies = read_state(SAMPLE)
    assert [(d.name, d.services, d.ip, d.host_uuid) for d in deckies] == [
        ("decky-01", ("ssh", "http"), "192.168.1.110", None),
        ("decky-02", ("smb", "rdp"), "192.168.1.111", None),
        ("decky-03", ("smtp_relay",), "192.168.1.112", None),
    ]
    # The entry is kept whole: a rule comparing configurations sees every field.
    raw = json.loads(SAMPLE.read_text())["config"]["deckies"][1]
    assert dict(deckies[1].config) == raw


def test_written_fleet_round_trips(tmp_path):
    path = write_state(tmp_path / "s.json", [
        decky_config("a", services=("ssh", "smtp_relay")),
        decky_config("b", host_uuid="swarm-7"),
    ], mode="swarm")
    got = read_state(path)
    assert [(d.name, d.services, d.host_uuid) for d in got] == [
        ("a", ("ssh", "smtp_relay"), None), ("b", ("ssh",), "swarm-7"),
    ]


def test_extra_keys_are_tolerated_everywhere(tmp_path):
    doc = json.loads(SAMPLE.read_text())
    doc["written_by"] = "decnet 9.9"
    doc["config"]["future_option"] = {"x": 1}
    doc["config"]["deckies"][0]["new_field"] = [1, 2, 3]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    got = read_state(path)
    assert [d.name for d in got] == ["decky-01", "decky-02", "decky-03"]
    assert got[0].config["new_field"] == [1, 2, 3]


def test_missing_file_means_nothing_deployed(tmp_path):
    assert read_state(tmp_path / "absent.json") is None


def test_unreadable_path_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="cannot read"):
        read_state(tmp_path)  # a directory


def test_corrupt_json_names_line_and_column(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"config": {\n  "deckies": [\n    {"name": "a",}\n  ]}}')
    with pytest.raises(SourceError) as err:
        read_state(path)
    assert "invalid JSON at line 3 column" in str(err.value)


def test_truncated_file(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(SAMPLE.read_text()[:200])
    with pytest.raises(SourceError, match="invalid JSON at line"):
        read_state(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "s.json"
    path.write_bytes(b'{"config": {"deckies": [{"name": "\xff"}]}}')
    with pytest.raises(SourceError, match=r"not UTF-8 text \(byte 34\)"):
        read_state(path)


@pytest.mark.parametrize("doc, where", [
    ([], "the top level: expected an object, got list"),
    ({}, "config: expected an object, got NoneType"),
    ({"config": []}, "config: expected an object, got list"),
    ({"config": {"deckies": {}}}, "config.deckies: expected a list, got dict"),
    ({"config": {"deckies": ["a"]}}, "config.deckies[0]: expected an object, got str"),
    ({"config": {"deckies": [{"name": "a"}, {"ip": "1.2.3.4"}]}},
     "config.deckies[1].name: expected a non-empty string, got None"),
    ({"config": {"deckies": [{"name": ""}]}}, "config.deckies[0].name"),
    ({"config": {"deckies": [{"name": "a"}, {"name": "a"}]}},
     "config.deckies[1].name: decky 'a' is listed twice"),
    ({"config": {"deckies": [{"name": "a", "services": "ssh"}]}},
     "config.deckies[0].services: expected a list of service names"),
    ({"config": {"deckies": [{"name": "a", "services": ["ssh", 22]}]}},
     "config.deckies[0].services"),
    ({"config": {"deckies": [{"name": "a", "ip": 10}]}},
     "config.deckies[0].ip: expected a string or null"),
    ({"config": {"deckies": [{"name": "a", "host_uuid": 7}]}},
     "config.deckies[0].host_uuid: expected a string or null"),
])
def test_wrong_shape_names_the_place(doc, where):
    with pytest.raises(SourceError) as err:
        parse_state(doc)
    assert where in str(err.value)


def test_no_deckies_key_is_an_empty_fleet():
    assert parse_state({"config": {"mode": "unihost"}}) == []


# -- where the file is looked for -------------------------------------------------


def test_option_wins_over_environment(tmp_path):
    env = {"DECNET_STATE_FILE": str(tmp_path / "env.json")}
    assert resolve_state_path(str(tmp_path / "opt.json"), env) == tmp_path / "opt.json"
    assert resolve_state_path(None, env) == tmp_path / "env.json"


def test_default_is_the_working_directory_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "decnet-state.json").write_text("{}")
    assert resolve_state_path(None, {}) == Path("decnet-state.json")


def test_an_entry_is_read_as_decnets_model_reads_it(tmp_path):
    """An older DECNET's entry (no host_uuid, no nmap_os, …) takes
    DeckyConfig's defaults, and NaN/Infinity become null, as DECNET's
    model_dump(mode="json") writes them into decky_config."""
    doc = json.loads(SAMPLE.read_text())
    entry = doc["config"]["deckies"][0]
    for key in ("host_uuid", "nmap_os", "last_login_attempt", "service_config", "build_base"):
        entry.pop(key, None)
    doc["config"]["deckies"][1]["service_config"] = {"ssh": {"w": float("nan"),
                                                             "hi": float("inf")}}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc).replace('"hi": Infinity', '"hi": Infinity, "big": -1e999'))
    assert "NaN" in path.read_text() and "Infinity" in path.read_text()
    old, odd = read_state(path)[:2]
    assert old.config["nmap_os"] == "linux" and old.config["host_uuid"] is None
    assert old.config["last_login_attempt"] == 0.0 and old.config["service_config"] == {}
    assert old.config["build_base"].startswith("debian:bookworm-slim@sha256:")
    assert odd.config["service_config"] == {"ssh": {"w": None, "hi": None, "big": None}}
    assert odd.config["last_mutated"] == 0.0 and type(odd.config["last_mutated"]) is float
    # A complete entry is the file's own, untouched.
    full = json.loads(SAMPLE.read_text())["config"]["deckies"][2]
    assert dict(read_state(path)[2].config) == full
