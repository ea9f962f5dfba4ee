"""The pytest plugin: ``pytest --decnet-audit`` runs the audit as test items.

Registered under the ``pytest11`` entry point, so pytest loads it wherever
decnet-audit is installed; without ``--decnet-audit`` it only adds its
options and imports nothing beyond pytest. With it, every (rule, decky) check
becomes one item ``decnet-audit::<rule>::<decky>`` appended to the session's
own tests: drift fails with the finding text, a waived check is skipped with
the waiver's reason, a check that could not run (a source not read, a rule
that crashed) is a test error. A nightly job that already runs pytest thus
gets the audit in its usual ``--junitxml`` output.
"""

from __future__ import annotations

import pytest

_OPTIONS = (
    # (option suffix, metavar, help)
    ("state", "PATH", "state file (default as decnet-audit's --state)"),
    ("db", "URL", "SQLAlchemy URL of DECNET's database (default as decnet-audit's --db)"),
    ("docker-host", "URL", "Docker engine (default: DOCKER_HOST / the local socket)"),
    ("docker-snapshot", "FILE", "read containers from a docker ps/inspect capture"),
    ("host-uuid", "ID", "this host's uuid (default: DECNET_HOST_UUID from DECNET's settings, "
                        "else 'local')"),
    ("decnet-root", "DIR", "DECNET's root (default: found from the `decnet` script on PATH)"),
    ("decnet-ini", "PATH", "DECNET's ini file (default: $DECNET_CONFIG, /etc/decnet/decnet.ini)"),
    ("config", "PATH", "decnet-audit config file (default: looked up from the working "
                       "directory upwards)"),
    ("baseline", "PATH", "waive the findings recorded in this baseline file"),
)


def pytest_addoption(parser):
    group = parser.getgroup("decnet-audit", "DECNET drift audit as test items")
    group.addoption("--decnet-audit", action="store_true", default=False,
                    help="audit this DECNET host: one test item per (rule, decky) check")
    for suffix, metavar, text in _OPTIONS:
        group.addoption(f"--decnet-audit-{suffix}", metavar=metavar, default=None, help=text)
    for suffix in ("select", "ignore"):
        group.addoption(f"--decnet-audit-{suffix}", action="append", default=[],
                        metavar="IDS", help=f"{suffix} rules (ids or codes, comma-separated)")


def pytest_configure(config):
    if config.getoption("decnet_audit"):
        config.pluginmanager.register(_AuditSession(config), "decnet-audit-session")


def _opt(config, suffix):
    return config.getoption("decnet_audit_" + suffix.replace("-", "_"))


class _AuditSession:
    """Active only with --decnet-audit: runs the audit once, at configure time,
    and hands its checks to the collection."""

    def __init__(self, config):
        # Imported here, not at module level: a pytest run without
        # --decnet-audit must not pay for docker or SQLAlchemy.
        import os

        from .config.policy import Policy
        from .engine import Sources, audit, observe
        from .errors import UsageError
        from .exitcode import ExitCode
        from .plugins import PluginError, load_rules, plugin_manager

        try:
            all_rules = load_rules(plugin_manager())
            policy = Policy.load(all_rules, config_path=_opt(config, "config"),
                                 cwd=config.invocation_params.dir,
                                 baseline=_opt(config, "baseline"))
            rules = policy.select(_opt(config, "select"), _opt(config, "ignore"))
            sources = Sources.resolve(
                os.environ, state=_opt(config, "state"), db=_opt(config, "db"),
                docker_host=_opt(config, "docker-host"),
                docker_snapshot=_opt(config, "docker-snapshot"),
                host_uuid=_opt(config, "host-uuid"),
                decnet_root=_opt(config, "decnet-root"), decnet_ini=_opt(config, "decnet-ini"),
            )
        except UsageError as exc:
            raise pytest.UsageError(f"decnet-audit: {exc}") from None
        except PluginError as exc:
            pytest.exit(f"decnet-audit: plugin error: {exc}", returncode=ExitCode.INTERNAL)
        if not rules:
            raise pytest.UsageError("decnet-audit: no rule selected")
        self.fleet = observe(sources)
        self.result = audit(self.fleet, rules, waive=policy.waive)
        policy.finish(self.result)

    def pytest_report_header(self, config):
        lines = [f"decnet-audit: {_visible(p)}" for p in self.fleet.provenance]
        lines.append(f"decnet-audit: host_uuid {self.fleet.host_uuid}")
        for name, s in self.fleet.sources.items():
            lines.append(f"decnet-audit: {name} {'ok' if s.ok else 'ERROR'} "
                         f"{_visible(s.where)}: {_visible(s.detail)}")
        return lines

    @pytest.hookimpl(tryfirst=True)  # before -k/-m deselect, so they apply to our items
    def pytest_collection_modifyitems(self, session, config, items):
        root = AuditCollector.from_parent(session, name="decnet-audit", nodeid="decnet-audit",
                                          result=self.result)
        # genitems reports the collection as pytest does its own ("collected N items").
        items.extend(session.genitems(root))

    def pytest_terminal_summary(self, terminalreporter):
        from .config.waivers import EXPIRED, UNUSED

        notes = [w for w in self.result.waivers if w.status in (EXPIRED, UNUSED)]
        if notes:
            terminalreporter.section("decnet-audit waivers", yellow=True)
            for w in notes:
                terminalreporter.line(_visible(w.line()))


def _visible(text) -> str:
    from .text import visible

    return visible(text)


class AuditCollector(pytest.Collector):
    """The ``decnet-audit`` node: one child per rule, in the audit's order."""

    def __init__(self, *, result, **kw):
        super().__init__(**kw)
        self.result = result

    def collect(self):
        rules = dict.fromkeys(c.rule for c in self.result.checks)
        return [RuleCollector.from_parent(self, name=rule, result=self.result) for rule in rules]


class RuleCollector(pytest.Collector):
    def __init__(self, *, result, **kw):
        super().__init__(**kw)
        self.result = result

    def collect(self):
        return [
            CheckItem.from_parent(self, name=_visible(c.decky), check=c,
                                  waiver=_waiver_of(c, self.result))
            for c in self.result.checks if c.rule == self.name
        ]


def _waiver_of(check, result):
    """The waiver that waived a check's first finding (for the skip's location)."""
    from .config.waivers import APPLIED
    from .model import WAIVED

    if check.outcome != WAIVED:
        return None
    for status in result.waivers:
        if status.status == APPLIED and status.waiver.matches(check.findings[0]):
            return status.waiver
    return None


class CheckItem(pytest.Item):
    def __init__(self, *, check, waiver=None, **kw):
        super().__init__(**kw)
        self.check = check
        self.waiver = waiver
        from .model import WAIVED

        if check.outcome == WAIVED:
            # A skip marker, not pytest.skip() in runtest: the report then
            # points at the item (or its waiver), not at this module.
            reasons = sorted({f.waiver_reason or "" for f in check.findings})
            self.add_marker(pytest.mark.skip(
                reason="waived: " + "; ".join(_visible(r) for r in reasons)))

    def setup(self):
        # Failing in setup makes it a test error, not a failure: the check
        # could not run, which says nothing about drift.
        from .model import ERROR

        if self.check.outcome == ERROR:
            pytest.fail(_visible(self.check.error), pytrace=False)

    def runtest(self):
        from .model import DRIFT

        if self.check.outcome == DRIFT:
            pytest.fail(self._findings_text(), pytrace=False)

    def _findings_text(self) -> str:
        from .reports.describe import finding_lines

        return "\n".join(line for f in self.check.findings for _part, line in finding_lines(f))

    def reportinfo(self):
        name = f"decnet-audit::{self.check.rule}::{self.name}"
        if self.waiver is not None:
            path, _, line = self.waiver.where.rpartition(":")
            if line.isdigit():
                return path, int(line) - 1, name
        return self.path, 0, name
