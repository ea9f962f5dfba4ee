"""Choosing what runs: ``-k`` expressions and ``--select``/``--ignore``."""

from __future__ import annotations

import pytest

from decnet_audit.config.selection import keyword_filter, select_rules
from decnet_audit.errors import UsageError
from decnet_audit.model import PASSED, Check
from decnet_audit.rules.db_only import DbOnly
from decnet_audit.rules.docker_mismatch import DockerMismatch
from decnet_audit.rules.foreign_host_row import ForeignHostRow
from decnet_audit.rules.json_only import JsonOnly

# The built-in rules as classes, not from the entry points: other plugins
# installed beside them must not change what these tests expect.
RULES = [JsonOnly(), DbOnly(), DockerMismatch(), ForeignHostRow()]

CHECKS = [
    Check("json-only", "web-01", PASSED),
    Check("json-only", "db-02", PASSED),
    Check("db-only", "web-01", PASSED),
    Check("docker-mismatch", "mail-03", PASSED),
    Check("foreign-host-row", "Web-Legacy", PASSED),
]


def kept(expr: str | None) -> list[tuple[str, str]]:
    keep = keyword_filter(expr)
    return [(c.rule, c.decky) for c in CHECKS if keep(c)]


# -- -k ---------------------------------------------------------------------------


def test_no_expression_keeps_everything():
    assert kept(None) == kept("") == kept("   ") == [(c.rule, c.decky) for c in CHECKS]


def test_a_word_is_a_substring_of_rule_id_or_decky_name():
    assert kept("only") == [("json-only", "web-01"), ("json-only", "db-02"),
                            ("db-only", "web-01")]
    assert kept("mail") == [("docker-mismatch", "mail-03")]


def test_words_are_case_insensitive_both_ways():
    assert kept("WEB") == kept("web") == [
        ("json-only", "web-01"), ("db-only", "web-01"), ("foreign-host-row", "Web-Legacy"),
    ]


def test_and_or_not():
    assert kept("json and web") == [("json-only", "web-01")]
    assert kept("mail or legacy") == [("docker-mismatch", "mail-03"),
                                      ("foreign-host-row", "Web-Legacy")]
    assert kept("not only") == [("docker-mismatch", "mail-03"),
                                ("foreign-host-row", "Web-Legacy")]
    assert kept("not not mail") == kept("mail")


def test_operators_are_case_insensitive():
    assert kept("JSON AND NOT db") == kept("json and not db") == [("json-only", "web-01")]


def test_and_binds_tighter_than_or():
    # "db or json and mail" is "db or (json and mail)": nothing is both json and mail.
    assert kept("db or json and mail") == [("json-only", "db-02"), ("db-only", "web-01")]


def test_parentheses_override_precedence():
    assert kept("(db or json) and web") == [("json-only", "web-01"), ("db-only", "web-01")]
    assert kept("not (json or db)") == [("docker-mismatch", "mail-03"),
                                        ("foreign-host-row", "Web-Legacy")]
    assert kept("((mail))") == [("docker-mismatch", "mail-03")]


def test_parentheses_need_no_spaces():
    assert kept("(mail)or(legacy)") == kept("mail or legacy")


@pytest.mark.parametrize("expr, says", [
    ("json and", "ends too early"),
    ("not", "ends too early"),
    ("(json or db", "missing ')'"),
    ("json)", "unexpected ')'"),
    ("and json", "unexpected 'and'"),
    ("json or or db", "unexpected 'or'"),
    ("json db", "unexpected 'db'"),
    ("()", "unexpected ')'"),
])
def test_malformed_expression_is_a_usage_error(expr, says):
    with pytest.raises(UsageError) as err:
        keyword_filter(expr)
    assert says in str(err.value)
    assert repr(expr) in str(err.value)  # the operator sees which -k is wrong


# -- --select / --ignore ------------------------------------------------------------


def ids(rules) -> list[str]:
    return [r.id for r in rules]


def test_no_select_means_every_rule():
    assert ids(select_rules(RULES, [], [])) == ids(RULES)


def test_select_by_id_and_by_code_any_case():
    assert ids(select_rules(RULES, ["db-only"], [])) == ["db-only"]
    assert ids(select_rules(RULES, ["DA003"], [])) == ["docker-mismatch"]
    assert ids(select_rules(RULES, ["da003"], [])) == ["docker-mismatch"]
    assert ids(select_rules(RULES, ["JSON-ONLY"], [])) == ["json-only"]


def test_select_by_code_prefix():
    assert ids(select_rules(RULES, ["DA00"], [])) == ids(RULES)
    assert ids(select_rules(RULES, ["da"], [])) == ids(RULES)


def test_an_id_is_never_a_prefix():
    # "db" is not an id: an id names exactly one rule, a prefix is for codes.
    with pytest.raises(UsageError):
        select_rules(RULES, ["db"], [])


def test_comma_separated_and_repeated_options_add_up():
    assert ids(select_rules(RULES, ["json-only, DA004"], [])) == ["json-only", "foreign-host-row"]
    assert ids(select_rules(RULES, ["json-only", "DA002"], [])) == ["json-only", "db-only"]


def test_ignore_removes_from_the_selection():
    assert ids(select_rules(RULES, [], ["DA001,docker-mismatch"])) == ["db-only",
                                                                       "foreign-host-row"]
    assert ids(select_rules(RULES, ["DA00"], ["db-only"])) == [
        "json-only", "docker-mismatch", "foreign-host-row"]


def test_ignoring_everything_selects_nothing():
    assert select_rules(RULES, [], ["DA"]) == []


@pytest.mark.parametrize("option", ["select", "ignore"])
def test_unknown_rule_names_the_known_ones(option):
    kw = {"select": [], "ignore": []}
    kw[option] = ["json-only,no-such-rule"]
    with pytest.raises(UsageError) as err:
        select_rules(RULES, kw["select"], kw["ignore"])
    text = str(err.value)
    assert "'no-such-rule'" in text
    for rule in RULES:
        assert f"{rule.id} ({rule.code})" in text
