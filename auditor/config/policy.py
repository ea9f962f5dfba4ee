"""What the config file and the CI-tuning options decide about one run:
which rules, which waivers, what to record, and the exit code.

Shared by the command line and the pytest plugin, so both read the same
config, apply the same waivers and select the same rules.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TextIO

from ..atomic import write_atomic
from ..errors import UsageError
from ..exitcode import ExitCode
from ..model import DRIFT, ERROR, AuditResult, Check
from ..outcome import exit_code
from ..rule import Rule
from .baseline import Recorder, read_baseline
from .file import Config, load_config, rule_by_name
from .selection import fail_on_rules, select_rules
from .waivers import APPLIED, WaiverSet, WaiverStatus, settle


class Policy:
    def __init__(self, config: Config, waivers: WaiverSet, *, rules: list[Rule] = (),
                 fail_on: set[str] | None = None, exit_zero: bool = False,
                 recorder: Recorder | None = None):
        self.config = config
        self.rules = list(rules)  # every loaded rule, with the file's options applied
        self.waivers = waivers
        self.fail_on = fail_on
        self.exit_zero = exit_zero
        self.recorder = recorder

    @classmethod
    def from_args(cls, args: argparse.Namespace, rules: list[Rule]) -> Policy:
        return cls.load(rules, config_path=args.config, baseline=args.baseline,
                        write_baseline=args.write_baseline, fail_on=args.fail_on,
                        exit_zero=args.exit_zero)

    @classmethod
    def load(cls, rules: list[Rule], *, config_path: str | None = None, cwd: Path | None = None,
             baseline: str | None = None, write_baseline: str | None = None,
             fail_on: list[str] = (), exit_zero: bool = False,
             today: date | None = None) -> Policy:
        """Read the config (and baseline), check them against ``rules`` (all
        loaded rules, so a waiver for a rule left out by --select is still
        valid) and configure them (:attr:`rules`; the caller's list is left as
        it is). Bad files raise ConfigError (exit 4)."""
        cfg = load_config(Path(config_path) if config_path else None, cwd=cwd)
        rules = cfg.resolve(rules)
        today = today or date.today()
        waivers = list(cfg.waivers)
        recorder = None
        if write_baseline:
            target = Path(write_baseline)
            if cfg.path is not None and target.resolve() == cfg.path.resolve():
                raise UsageError(f"--write-baseline {target} would overwrite the config file "
                                 f"in use; write the baseline to its own file")
            # A new baseline records today's drift afresh: an older one is not read.
            recorder = Recorder(target, today)
        else:
            path = Path(baseline) if baseline else cfg.baseline
            if path is not None:
                waivers += [replace(w, rule=rule_by_name(rules, w.rule, w.where).id)
                            for w in read_baseline(path)]
        tokens = fail_on or cfg.fail_on
        chosen = {r.id for r in fail_on_rules(rules, tokens)} if tokens else None
        return cls(cfg, WaiverSet(waivers, today), rules=rules, fail_on=chosen,
                   exit_zero=exit_zero, recorder=recorder)

    def select(self, select: list[str], ignore: list[str]) -> list[Rule]:
        """The configured rules that run; ``--select``/``--ignore`` from the
        command line replace the file's."""
        return select_rules(self.rules, select or self.config.select or [],
                            ignore or self.config.ignore or [])

    def waive(self, checks: list[Check]) -> None:
        """Called on each rule's checks as they finish, before they are shown."""
        left = self.waivers.apply(checks)
        if self.recorder is not None and left:
            self.recorder.record(left)
            for check in checks:
                settle(check)

    def finish(self, result: AuditResult) -> None:
        result.waivers = self.waivers.statuses(result)
        if self.recorder is not None:
            result.waivers += [WaiverStatus(w, APPLIED, self.recorder.matched[key])
                               for key, w in self.recorder.waivers.items()]

    def exit_code(self, result: AuditResult) -> int:
        code = exit_code(result)
        if code != ExitCode.DRIFT:
            return code
        if self.exit_zero:
            return ExitCode.OK
        if self.fail_on is not None and not any(
            c.outcome == DRIFT and c.rule in self.fail_on for c in result.checks
        ):
            return ExitCode.OK
        return code

    def conclude(self, result: AuditResult, err: TextIO) -> int:
        """The exit code, after writing the baseline if one was asked for."""
        code = self.exit_code(result)
        if self.recorder is None:
            return code
        path = self.recorder.path
        if not result.complete or any(c.outcome == ERROR for c in result.checks):
            err.write(f"decnet-audit: baseline {path} not written: the audit is incomplete, "
                      f"so it would miss drift\n")
            return max(code, ExitCode.INCOMPLETE)
        try:
            write_atomic(path, self.recorder.render().encode("utf-8"))
        except OSError as exc:
            err.write(f"decnet-audit: cannot write baseline {path}: {exc.strerror or exc}\n")
            return max(code, ExitCode.INCOMPLETE)
        n = len(self.recorder.waivers)
        err.write(f"decnet-audit: wrote {n} waiver{'s' if n != 1 else ''} to baseline {path}\n")
        return code
