"""The fast paths taken for large fleets give exactly the answers of the slow
paths they shortcut (properties over generated values; pure logic, no I/O).

Each shortcut is checked against the code it skips: the JSON report against
``json.dumps``, the container listing against the SDK-style whole parse, the
config-drift and duplicate-ip shortcuts against the comparisons they avoid.
"""

from __future__ import annotations

import ipaddress
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from decnet_audit.model import Check, Decky, Row
from decnet_audit.reports import json_report
from decnet_audit.rules import config_drift, duplicate_ip
from decnet_audit.sources.docker import _from_api, parse_listing

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                    st.sampled_from([0.0, -0.0, 1.0, 2.5]), st.text(max_size=4))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=8)
objects = st.dictionaries(st.sampled_from(["ip", "services", "service_config", "a", "b"]),
                          values, max_size=5)


def retyped(value, draw):
    """A copy of ``value`` equal to it by ``==`` where some numbers and
    booleans changed type (True and 1, 0 and 0.0): what ``==`` cannot see."""
    if isinstance(value, dict):
        return {k: retyped(v, draw) for k, v in value.items()}
    if isinstance(value, list):
        return [retyped(v, draw) for v in value]
    if isinstance(value, bool | int | float) and draw(st.booleans()):
        if isinstance(value, bool) or value in (0, 1) and draw(st.booleans()):
            return draw(st.sampled_from([t for t in (bool, int, float) if t(value) == value]))(
                value)
        return float(value) if isinstance(value, int) else value
    return value


@st.composite
def twins(draw, base=values):
    """Two values equal by ``==``, often of different types somewhere inside."""
    a = draw(base)
    return a, retyped(a, draw)


# -- JSON report ------------------------------------------------------------------


@given(st.dictionaries(st.text(max_size=5), values, max_size=5),
       st.lists(st.dictionaries(st.text(max_size=4), values, max_size=4), max_size=4))
def test_report_text_is_the_same_json(doc, checks):
    doc = {**doc, "checks": checks}
    assert json.loads(json_report.dumps(doc)) == json.loads(json.dumps(doc))
    lazy = {**doc, "checks": iter(checks)}
    assert json_report.dumps(lazy) == json_report.dumps(doc)


@given(st.text(alphabet=st.characters(min_codepoint=0xD7F0, max_codepoint=0x1F610), max_size=6))
def test_report_cleans_exactly_when_the_slow_path_would(s):
    doc = {"checks": [{"decky": s}], "summary": {"s": s}}
    text = json_report.dumps(doc)
    if json_report._ESCAPED_SURROGATE.search(text):
        text = json_report.dumps(json_report._clean(doc))
    assert json.loads(text) == json_report._clean(doc)


@given(st.text(), st.text(), st.sampled_from(["passed", "drift"]), st.none() | st.text(),
       st.booleans())
def test_check_line_is_what_json_dumps_writes(rule, decky, outcome, error, crashed):
    check = Check(rule, decky, outcome, error=error, crashed=crashed)
    assert json_report.check_line(check) == json.dumps(
        {"rule": rule, "decky": decky, "outcome": outcome, "error": error, "crashed": crashed})


# -- the container listing ----------------------------------------------------------

labels = st.dictionaries(st.sampled_from(["Names", "Id", "decnet.fleet.decky", "x"]),
                         st.text(max_size=4), max_size=4)
containers = st.fixed_dictionaries({
    "Id": st.text(max_size=6), "Names": st.lists(st.text(max_size=6), max_size=2),
    "State": st.sampled_from(["running", "Exited", "", "created"]), "Labels": labels,
    "NetworkSettings": st.fixed_dictionaries({"Networks": st.dictionaries(
        st.text(max_size=3), st.dictionaries(st.text(max_size=3), scalars, max_size=3),
        max_size=2)}),
    "Mounts": st.lists(st.dictionaries(st.text(max_size=3), scalars, max_size=2), max_size=2),
})


@given(st.lists(containers, max_size=5))
def test_listing_parsed_as_it_streams_equals_the_whole_parse(listing):
    body = json.dumps(listing)
    assert parse_listing(body) == [_from_api(c) for c in json.loads(body)]


# -- config-drift -------------------------------------------------------------------


def _slow_differences(decky: Decky, row: Row):
    """ConfigDrift.differences as it was before its shortcut: key by key."""
    rule = config_drift.ConfigDrift()
    out = []
    original = config_drift._same_types
    config_drift._same_types = lambda a, b: False  # never take the shortcut
    try:
        out = list(rule.differences(decky, row))
    finally:
        config_drift._same_types = original
    return out


@settings(max_examples=300)
@given(objects, twins(objects), st.booleans())
def test_config_drift_shortcut_changes_no_finding(state_cfg, pair, same):
    if same:  # most rows agree with the state file: make the shortcut apply
        state_cfg, row_cfg = pair
    else:
        row_cfg = pair[0]
    decky = Decky("d", "10.0.0.1", ("ssh",), None, state_cfg)
    row = Row("local", "d", '["ssh"]', json.dumps(row_cfg), "10.0.0.1", "running")
    assert list(config_drift.ConfigDrift().differences(decky, row)) == \
        _slow_differences(decky, row)


@given(twins())
def test_same_types_is_exactly_type_equality(pair):
    a, b = pair
    if isinstance(a, dict | list):
        assert a == b
        assert config_drift._same_types(a, b) == (_types_of(a) == _types_of(b))


def _types_of(v):
    if isinstance(v, dict):
        return {k: _types_of(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_types_of(x) for x in v]
    return type(v)


octets = st.one_of(st.integers(0, 300).map(str), st.integers(0, 99).map(lambda i: f"0{i}"))
ips = st.one_of(
    st.ip_addresses().map(str),
    st.lists(octets, min_size=3, max_size=5).map(".".join),
    st.builds("{} {}".format, st.ip_addresses(v=4).map(str), st.sampled_from(["", " "])),
    st.text(alphabet="0123456789.:abcdefABCDEF ", max_size=16),
)


@settings(max_examples=300)
@given(ips, ips)
def test_same_ip_shortcut(a, b):
    def slow(x, y):
        try:
            return ipaddress.ip_address(x.strip()) == ipaddress.ip_address(y.strip())
        except ValueError:
            return x.strip() == y.strip()
    assert config_drift._same_ip(a, b) == slow(a, b)
    assert config_drift._same_ip(a, a)


# -- duplicate-ip -------------------------------------------------------------------


@settings(max_examples=500)
@given(ips)
def test_duplicate_ip_normal_form_shortcut(ip):
    try:
        slow = str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        slow = ip.strip()
    assert duplicate_ip._normal(ip) == slow
