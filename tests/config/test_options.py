"""Rule options are declared (``Rule.options``), never guessed from attributes."""

from __future__ import annotations

from typing import ClassVar

from decnet_audit.config.options import options_of
from decnet_audit.rule import Rule
from decnet_audit.rules.config_drift import ConfigDrift
from decnet_audit.rules.stale_observation import StaleObservation


class Declared(Rule):
    id, code = "declared", "XX010"
    options = ("limit", "names")
    limit: ClassVar[float] = 3  # a float option with a whole default
    names: ClassVar[tuple[str, ...]] = ()
    helper_setting = 5  # public, of an option's type, but not declared


def test_only_declared_attributes_are_options():
    assert options_of(Declared) == {"limit": 3.0, "names": ()}
    assert isinstance(options_of(Declared)["limit"], float)


def test_built_in_options():
    assert options_of(StaleObservation) == {"max_age_minutes": 10.0}
    assert options_of(ConfigDrift) == {"ignored_config_keys": ()}
    assert options_of(Rule) == {}
