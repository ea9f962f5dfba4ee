"""``decnet-audit merge``: one fleet report from many hosts' JSON reports."""
