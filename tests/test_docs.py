"""The README documents what the code offers (as datasette's test_docs.py
does): every built-in rule, every hook, every command-line option; and the
example fleet carries DECNET's DDL unchanged."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from decnet_audit import hookspecs, pytest_plugin
from decnet_audit.cli import build_parser
from decnet_audit.fix import undo
from decnet_audit.plugins import load_reporters, plugin_manager

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SHARED = ROOT.parent / "shared" / "decnet"
FIX_WORD = {"safe": "safe", "unsafe": "unsafe", None: "report only"}


def built_in_rules():
    out = []
    for ep in entry_points(group="decnet_audit"):
        if ep.value.startswith("decnet_audit.rules."):
            out.extend(ep.load().decnet_audit_rules())
    return sorted(out, key=lambda cls: cls.code)


def mentioned(word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", README) is not None


RULES = built_in_rules()


def test_every_built_in_rule_is_found():
    assert len(RULES) >= 8 and len({r.id for r in RULES}) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_rule_has_a_summary_line_and_a_readme_row(rule):
    info = rule.info()
    assert info.summary and len(info.summary) <= 100, "the docstring's first line"
    assert len(info.doc.splitlines()) > 2, "a docstring says what, why and how it converges"
    row = re.search(rf"^\| {info.code} \| `{info.id}` \| ([^|]+) \|", README, re.M)
    assert row, f"README's rule table has no row for {info.code} {info.id}"
    assert row.group(1).strip() == FIX_WORD[info.fix_safety]


@pytest.mark.parametrize("hook", sorted(n for n in dir(hookspecs)
                                        if n.startswith("decnet_audit_")))
def test_every_hook_is_documented(hook):
    assert mentioned(hook)


def _long_options(parser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings if o.startswith("--")}


class _Options:
    """Stands in for pytest's parser: collects what the plugin adds."""

    def __init__(self):
        self.names: set[str] = set()

    def getgroup(self, *_args, **_kw):
        return self

    def addoption(self, *names, **_kw):
        self.names.update(names)


def _pytest_options() -> set[str]:
    collected = _Options()
    pytest_plugin.pytest_addoption(collected)
    return collected.names


OPTIONS = sorted(_long_options(build_parser(load_reporters(plugin_manager())))
                 | _long_options(undo.build_parser()) | _pytest_options())


@pytest.mark.parametrize("option", OPTIONS)
def test_every_command_line_option_is_documented(option):
    assert mentioned(option), f"{option} is not in the README"


def test_example_fleet_embeds_decnets_ddl_unchanged():
    original = SHARED / "fleet_deckies.sqlite.sql"
    if not original.exists():
        pytest.skip("no ../shared/decnet beside this checkout")
    assert original.read_text() in (ROOT / "examples" / "fleet" / "fleet.sql").read_text()
