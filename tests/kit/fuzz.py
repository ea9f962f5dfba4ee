"""What the fuzz tests share: bounded example counts, generated JSON and TOML,
and the one check every run must pass.

Every parser is fed generated input through the real command line, in
process (:func:`kit.fix.run_inproc`): an exception escaping ``cli.main`` is a
traceback an operator would see, and fails the example. The example count
per test is small enough for CI (the whole fuzz suite in about a minute);
``DECNET_AUDIT_FUZZ_EXAMPLES=N`` runs N per test instead.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from kit.fleet import DDL_DIR, decky_config

DEFAULT_EXAMPLES = 40


def fuzz_settings(default: int = DEFAULT_EXAMPLES):
    n = int(os.environ.get("DECNET_AUDIT_FUZZ_EXAMPLES") or default)
    return settings(max_examples=n, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


# Text as files hold it: any code point but lone surrogates (JSON escapes
# them; tests that want them write "\udcff" on purpose).
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
keyish = st.one_of(st.sampled_from(["name", "ip", "services", "host_uuid", "config", "deckies",
                                    "ID", "Id", "Names", "Name", "State", "Status", "Labels",
                                    "Config", "decnet.fleet.decky", "decnet.fleet.service_name",
                                    "$datetime", "$bytes", "$decimal", "$date"]), texts)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=False, allow_infinity=False), texts)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keyish, inner, max_size=4)), max_leaves=12)


@st.composite
def deep(draw, opener: str = "[", closer: str = "]") -> str:
    """Text nested between 50 and 3,000 levels deep, around a small value."""
    n = draw(st.integers(50, 3000))
    inner = draw(st.sampled_from(["", "1", '"x"']))
    return opener * n + inner + closer * n


@st.composite
def mutated(draw, doc):
    """``doc`` (JSON data) with one place replaced by a generated value."""
    doc = json.loads(json.dumps(doc))
    node, path = doc, []
    for _ in range(draw(st.integers(0, 6))):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            key = draw(st.integers(0, len(node) - 1))
        else:
            break
        path.append(key)
        node = node[key]
    value = draw(json_values)
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    return doc


def garbled(text: str):
    """``text`` with a slice cut out or doubled: broken syntax of every kind."""
    return st.tuples(st.integers(0, len(text)), st.integers(0, len(text)),
                     st.booleans()).map(
        lambda t: text[:min(t[:2])] + (text[min(t[:2]):max(t[:2])] * 2 if t[2] else "")
        + text[max(t[:2]):])


# -- TOML, written by hand: the project reads TOML but has no TOML writer ----

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def toml_key(key: str) -> str:
    return key if _BARE.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | int | float):
        return value.isoformat() if isinstance(value, dt.date) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return '""'


toml_scalars = st.one_of(st.booleans(), st.integers(-10**6, 10**6),
                         st.floats(allow_nan=False, allow_infinity=False), texts,
                         st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)))
toml_values = st.recursive(toml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(keyish, inner, max_size=3)), max_leaves=8)
rule_tokens = st.sampled_from(["json-only", "db-only", "docker-mismatch", "foreign-host-row",
                               "orphan-container", "config-drift", "stale-observation",
                               "duplicate-ip", "DA00", "DA003", "nope", ""])


@st.composite
def config_toml(draw) -> str:
    """A ``.decnet-audit.toml``: the real keys with values right or wrong."""
    lines = []
    for key in draw(st.lists(st.sampled_from(["select", "ignore", "fail-on", "baseline",
                                              "unknown-key"]), max_size=4, unique=True)):
        value = draw(st.one_of(st.lists(rule_tokens, max_size=3), toml_values))
        lines.append(f"{key} = {toml_value(value)}")
    for rule in draw(st.lists(rule_tokens, max_size=2, unique=True)):
        lines.append(f"[rules.{toml_key(rule or 'x')}]")
        for opt in draw(st.lists(st.sampled_from(["max-age-minutes", "ignored-config-keys",
                                                  "bogus"]), max_size=2, unique=True)):
            lines.append(f"{opt} = {toml_value(draw(toml_values))}")
    lines += waiver_tables(draw)
    return "\n".join(lines) + "\n"


def waiver_tables(draw) -> list[str]:
    lines = []
    for _ in range(draw(st.integers(0, 3))):
        lines.append("[[waivers]]")
        for key in draw(st.lists(st.sampled_from(["rule", "decky", "field", "reason",
                                                  "expires", "added", "extra"]),
                                 max_size=6, unique=True)):
            value = draw(st.one_of(rule_tokens, texts, toml_values)) if key != "expires" \
                else draw(st.one_of(st.dates(), texts, toml_values))
            lines.append(f"{key} = {toml_value(value)}")
    return lines


@st.composite
def baseline_toml(draw) -> str:
    return "\n".join(waiver_tables(draw) + draw(st.sampled_from([[], ["x = 1"]]))) + "\n"


def clean_exit(run, allowed: set[int]) -> None:
    """What every fuzzed run must show: an allowed exit code, no traceback,
    no crashed rule, at most a few lines on stderr."""
    assert run.rc in allowed, (run.rc, run.out[-2000:], run.err[-2000:])
    for text in (run.out, run.err):
        assert "Traceback" not in text
        assert "rule crashed" not in text
    assert len(run.err.splitlines()) <= 3, run.err


# -- a small fleet every fuzz test audits -----------------------------------


def state_doc(names=("fz-a", "fz-b")) -> dict:
    return {"config": {"mode": "unihost", "deckies": [decky_config(n) for n in names]},
            "compose_path": "/x"}


def make_db(path: Path, rows=()) -> str:
    con = sqlite3.connect(path)
    con.executescript((DDL_DIR / "fleet_deckies.sqlite.sql").read_text())
    con.execute("INSERT INTO fleet_deckies VALUES ('local', 'fz-a', '[\"ssh\"]', NULL, "
                "'10.0.0.1', 'running', NULL, NULL, NULL, '2026-01-01 00:00:00')")
    con.executemany("INSERT INTO fleet_deckies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    return f"sqlite:///{path}"
