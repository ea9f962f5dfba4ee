"""The ``decnet-audit`` command line."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

from . import __version__
from .errors import UsageError
from .exitcode import ExitCode
from .fix import interrupt

# Everything else is imported where it is used: `--version` must not pay for
# the plugins, the config machinery or the fix options, let alone SQLAlchemy.

COMMANDS = ("undo", "rule", "merge")
# The subcommands, as the usage line shows them below the audit's own.
_COMMAND_USAGE = ("decnet-audit undo JOURNAL [--db URL] [--host-uuid ID] [--dry-run]\n"
                  "                         [--journal PATH] [--lock-timeout SECONDS] "
                  "[--accept-unsealed] [-q]",
                  "decnet-audit rule ID [ID ...]",
                  "decnet-audit merge REPORT.json [REPORT.json ...] [--max-age HOURS]\n"
                  "                         [--json PATH] [--junitxml PATH] [--html PATH] "
                  "[--metrics PATH]")


def build_parser(reporters) -> argparse.ArgumentParser:
    from .config.arguments import add_arguments
    from .fix import options as fix_arguments
    from .swarmrows import MASTER, WORKER
    from .usage import Parser

    p = Parser(
        prog="decnet-audit",
        commands=COMMANDS,
        description="Audit a DECNET host: state file vs fleet_deckies vs Docker.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n"
               "  undo JOURNAL   put back the rows a --fix changed (decnet-audit undo --help)\n"
               "  rule ID        print the documentation of one rule (id or code)\n"
               "  merge REPORT.json...  one fleet report from many hosts' JSON reports\n"
               "                 (decnet-audit merge --help)\n\n"
               "exit codes: 0 no drift, 1 drift, 2 audit incomplete, 3 internal error,\n"
               "  4 usage error, 5 no rule selected, 6 --fix or undo wrote nothing (lock held,\n"
               "  transaction rolled back)",
    )
    src = p.add_argument_group("sources")
    src.add_argument("--state", metavar="PATH",
                     help="state file (default: $DECNET_STATE_FILE, else DECNET's "
                          "<root>/decnet-state.json, else ./decnet-state.json, "
                          "/var/lib/decnet/decnet-state.json)")
    src.add_argument("--db", metavar="URL",
                     help="SQLAlchemy URL of DECNET's database (default: DECNET's DECNET_DB_* "
                          "settings, else sqlite $DECNET_DB_PATH, <root>/decnet.db or ./decnet.db)")
    src.add_argument("--decnet-root", metavar="DIR",
                     help="DECNET's root: the site-packages (or checkout) holding decnet/ "
                          "(default: $DECNET_AUDIT_DECNET_ROOT, else found from the `decnet` "
                          "script on PATH)")
    src.add_argument("--decnet-ini", metavar="PATH",
                     help="DECNET's ini file (default: $DECNET_AUDIT_DECNET_INI, $DECNET_CONFIG, "
                          "/etc/decnet/decnet.ini)")
    docker = src.add_mutually_exclusive_group()
    docker.add_argument("--docker-host", metavar="URL",
                        help="Docker engine (default: DOCKER_HOST / the local socket)")
    docker.add_argument("--docker-snapshot", metavar="FILE",
                        help="read containers from `docker ps -a --no-trunc --format "
                             "'{{json .}}'` lines or a `docker inspect` array")
    src.add_argument("--host-uuid", metavar="ID",
                     help="this host's uuid (default: DECNET_HOST_UUID from DECNET's settings, "
                          "e.g. decnet.ini [agent] host-uuid, else 'local')")
    src.add_argument("--role", choices=(MASTER, WORKER),
                     help="master (reads the database) or worker (a DECNET agent: no "
                          "database, state file vs Docker only); default: DECNET's "
                          "[decnet] mode in /etc/decnet/decnet.ini ($DECNET_AUDIT_DECNET_INI)")

    sel = p.add_argument_group("selection")
    sel.add_argument("-k", metavar="EXPR", dest="keyword",
                     help="only checks matching EXPR (and/or/not over rule id and decky name)")
    sel.add_argument("--select", action="append", default=[], metavar="IDS",
                     help="only these rules (ids or codes, comma-separated)")
    sel.add_argument("--ignore", action="append", default=[], metavar="IDS",
                     help="skip these rules (ids or codes, comma-separated)")
    sel.add_argument("--list-rules", action="store_true", help="list the rules and exit")

    out = p.add_argument_group("output")
    verbosity = out.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="list passing checks too")
    out.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                     help="colour the console: auto (default: on a terminal, unless NO_COLOR "
                          "or TERM=dumb), always, never")
    for r in reporters:
        out.add_argument(r.option, metavar="PATH", dest=_dest(r), help=r.help)
    add_arguments(p)
    fix_arguments.add_arguments(p)
    p.add_argument("--version", action="version", version=f"decnet-audit {__version__}")
    audit_usage = p.format_usage().removeprefix("usage: ").rstrip()
    p.usage = "\n       ".join((audit_usage, *_COMMAND_USAGE))
    return p


def _dest(reporter) -> str:
    return "report_" + reporter.option.lstrip("-").replace("-", "_")


def list_rules(rules, stream) -> None:
    for r in rules:
        info = r.info()
        safety = info.fix_safety or "report"
        stream.write(f"{info.code}  {info.id:<20} {safety:<7} {info.severity:<7} "
                     f"{info.summary}\n")


def main(argv: list[str] | None = None) -> int:
    # One run builds a few objects per container, row and check and frees
    # almost none before it ends: the cyclic collector would only rescan them
    # over and over (about 7% of the CPU at 5,000 deckies).
    collecting = gc.isenabled()
    gc.disable()
    try:
        with interrupt.installed():
            return run(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        sys.stderr.write(f"decnet-audit: usage error: {exc}\n")
        return ExitCode.USAGE
    except KeyboardInterrupt:
        sys.stderr.write("decnet-audit: interrupted; the audit is incomplete\n")
        return ExitCode.INCOMPLETE
    except BrokenPipeError:
        # `decnet-audit | head`: the reader left; stay quiet on the way out.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.INCOMPLETE
    except Exception as exc:
        # A plugin error can come only from a run that loaded the plugins, a
        # refused lock only from one that fixes: their modules are loaded then.
        plugins = sys.modules.get("decnet_audit.plugins")
        if plugins is not None and isinstance(exc, plugins.PluginError):
            sys.stderr.write(f"decnet-audit: plugin error: {exc}\n")
            return ExitCode.INTERNAL
        lock = sys.modules.get("decnet_audit.fix.lock")
        if lock is not None and isinstance(exc, lock.LockBusy):
            sys.stderr.write(f"decnet-audit: {exc}; nothing was written\n")
            return ExitCode.NOT_APPLIED
        raise
    finally:
        if collecting:
            if argv is None:
                # The console script, about to exit: what the run made needs no
                # collecting, and the first one after enable() would scan it all
                # (~20 ms at 1,000 deckies). An in-process caller keeps it collectable.
                gc.freeze()
            gc.enable()


def run(argv: list[str]) -> int:
    if argv[:1] == ["undo"]:
        from .fix import undo

        return undo.main(argv[1:])
    if argv[:1] == ["merge"]:
        from .merge import command

        return command.main(argv[1:])
    if argv[:1] != ["rule"] and "--version" in (argv[:argv.index("--")] if "--" in argv
                                                 else argv):
        # Before the plugins are even looked up: a version check must be instant.
        sys.stdout.write(f"decnet-audit {__version__}\n")
        return 0
    from .plugins import load_reporters, load_rules, plugin_manager

    if argv[:1] == ["rule"]:
        from . import ruledoc

        return ruledoc.main(argv[1:], load_rules(plugin_manager()))
    started = time.perf_counter()
    pm = plugin_manager()
    reporters = load_reporters(pm)
    args = build_parser(reporters).parse_args(argv)  # --help ends here
    from .config.policy import Policy
    from .config.selection import keyword_filter, require_some
    from .fix import options as fix_arguments
    from .outcome import settle_fixes
    from .text import visible

    require_some("--select", args.select)
    all_rules = load_rules(pm)
    policy = Policy.from_args(args, all_rules)  # config file, waivers, baseline
    rules = policy.select(args.select, args.ignore)
    if args.list_rules:
        list_rules(rules, sys.stdout)
        return ExitCode.OK
    fix_options = fix_arguments.FixOptions.from_args(args)
    if not rules:
        sys.stderr.write("decnet-audit: no rule selected\n")
        return ExitCode.NO_RULES
    keep = keyword_filter(args.keyword)

    # Only now the heavy parts (SQLAlchemy, the docker SDK's requests): --help,
    # --version, --list-rules and usage errors never need them.
    from .engine import Sources, audit, observe
    from .fix import session
    from .model import WORKER
    from .reports.console import Console, wants_colour

    verbosity = -1 if args.quiet else (1 if args.verbose else 0)
    # A report written to stdout (``--json -``) keeps stdout to itself.
    to_stdout = [r.option for r in reporters if getattr(args, _dest(r), None) == "-"]
    if len(to_stdout) > 1:
        raise UsageError(f"{' and '.join(to_stdout)} cannot both write to stdout ('-')")
    stream = sys.stderr if to_stdout else sys.stdout
    console = Console(stream, verbosity, colour=wants_colour(stream, args.color))
    sources = Sources.resolve(
        os.environ, state=args.state, db=args.db, docker_host=args.docker_host,
        docker_snapshot=args.docker_snapshot, host_uuid=args.host_uuid,
        decnet_root=args.decnet_root, decnet_ini=args.decnet_ini, role=args.role,
    )
    if sources.role == WORKER and (args.fix or args.diff):
        raise UsageError("--fix/--diff: a swarm worker has no database to converge, and "
                         "its deckies are the master's to redeploy (see the findings)")
    # --fix holds its lock from before the sources are read to after the re-audit.
    with session.FixSession(fix_options, sources, sys.stderr) as fix:
        # Only stale-observation reads the finish times of dead containers.
        fleet = observe(sources, inspect_dead=any(r.id == "stale-observation" for r in rules))
        # On stderr whatever -q says: what cron mails and CI logs keep.
        for s in fleet.sources.values():
            if not s.ok:
                sys.stderr.write(f"decnet-audit: {s.name} not read ({visible(s.where)}): "
                                 f"{visible(s.detail)}\n")
        console.header(fleet, rules)
        result = audit(fleet, rules, keep=keep, on_rule=console.rule_done, started=started,
                       waive=policy.waive)
        policy.finish(result)
        fix.run(fleet, result, rules, console, policy, keep)
        settle_fixes(result)  # from here on, every count tells the end state
        console.report(result)
        written = write_reports(result, reporters, args)
        stopped = interrupt.release()
        if stopped is not None:
            sys.stderr.write(f"decnet-audit: {stopped} after the fix committed: its journal, "
                             f"console summary and reports were finished first\n")
        if result.deselected and not result.checks:
            sys.stderr.write(f"decnet-audit: -k {args.keyword!r} matched no check\n")
            return ExitCode.NO_RULES
        code = policy.conclude(result, sys.stderr) if fix.code is None else fix.code
    return code if written else max(code, ExitCode.INCOMPLETE)


def write_reports(result, reporters, args) -> bool:
    """Every requested report, even for an incomplete audit; a report that
    cannot be written is said once, on stderr, and the others still are."""
    from .atomic import write_atomic

    ok = True
    for r in reporters:
        path = getattr(args, _dest(r), None)
        if not path:
            continue
        try:
            if path == "-":
                sys.stdout.buffer.write(r.render(result))
                sys.stdout.flush()
                continue
            # Like pytest's --junitxml: a report's directory is made as needed.
            parent = Path(path).parent
            if not parent.is_dir():
                try:
                    parent.mkdir(parents=True)
                except FileExistsError:  # a file where the directory should be
                    raise NotADirectoryError(0, f"{parent} is not a directory") from None
            write_atomic(path, r.render(result))
        except OSError as exc:
            sys.stderr.write(f"decnet-audit: cannot write {r.name} report {path}: "
                             f"{exc.strerror or exc}\n")
            ok = False
    return ok
