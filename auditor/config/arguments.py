"""The command line's configuration and CI-tuning options.

Kept apart from :mod:`.policy` so that ``--help`` builds them without
importing the config, baseline and waiver machinery."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("configuration and CI tuning")
    g.add_argument("--config", metavar="PATH",
                   help="config file (default: .decnet-audit.toml, or pyproject.toml with "
                        "[tool.decnet-audit], looked up from the working directory upwards)")
    g.add_argument("--baseline", metavar="PATH",
                   help="waive the findings recorded in this baseline file "
                        "(default: the config's `baseline`)")
    g.add_argument("--write-baseline", metavar="PATH",
                   help="record every finding no waiver covers as a waiver in PATH "
                        "(reason 'baseline', today's date); refused for an incomplete audit")
    g.add_argument("--fail-on", action="append", default=[], metavar="IDS",
                   help="exit 1 only for drift in these rules (ids or codes, comma-separated); "
                        "other drift is still reported")
    g.add_argument("--exit-zero", action="store_true",
                   help="exit 0 even when drift is found (an incomplete audit still exits 2)")
