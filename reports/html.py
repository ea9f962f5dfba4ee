"""``--html PATH``: one self-contained HTML page an operator reads offline.

Everything is inline (CSS, JS, no font, image or link to anywhere else) and a
Content-Security-Policy that admits only this page's own script and style
by hash: should hostile text ever slip through escaping, the browser still
refuses to run or fetch anything. The page reads fully with JavaScript off;
the script only adds filters, sorting and expand/collapse-all.

Layout: the verdict, then one table of every check that did not pass (all
rules together, worst first, with severity and fix state), then the sources,
the counts and each rule's documentation and passed checks. On a phone the
table's rows become cards, so no column is squeezed narrower than a word.
"""

from __future__ import annotations

from dataclasses import dataclass

from decnet_audit import __version__
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import (
    DRIFT,
    ERROR,
    FIXED,
    OUTCOMES,
    PASSED,
    WAIVED,
    AuditResult,
    Check,
    Finding,
    RuleInfo,
)
from decnet_audit.outcome import exit_code
from decnet_audit.reporter import Reporter
from decnet_audit.rule import SEVERITIES
from decnet_audit.text import visible

from .describe import fix_state, grouped, problems_first, value_text, verdict

TEMPLATE = "report.html.j2"
# Problems are laid out in tables of this many checks, each skipped by the
# browser until scrolled near (CSS content-visibility): measured at 10,000
# findings, one table took 8-17 s to open, chunks 1-2 s.
CHUNK = 250

# (word, sign, short word): status is always written out, never colour alone.
OUTCOME_WORDS = {
    DRIFT: ("DRIFT", "✗", "drift"),
    ERROR: ("ERROR", "!", "error"),
    WAIVED: ("WAIVED (skipped)", "~", "waived"),
    FIXED: ("FIXED", "✓", "fixed"),
    PASSED: ("PASSED", "✓", "passed"),
}
VERDICT_SIGNS = {"no-drift": "✓", "drift": "✗", "incomplete": "!", "internal-error": "!"}
# The findings table, worst first: what could not be checked, what is still
# wrong, what --fix converged, what is accepted.
_PROBLEM_ORDER = {ERROR: 0, DRIFT: 1, FIXED: 2, WAIVED: 3}
EXIT_CODES = (
    (0, "no drift"),
    (1, "drift found"),
    (2, "audit incomplete: a source could not be read, a report could not be written, "
        "or the run was interrupted"),
    (3, "internal error: a rule crashed, or a plugin could not be loaded"),
    (4, "usage error"),
    (5, "no rule selected, or -k matched no check"),
    (6, "--fix or undo wrote nothing: another run held the lock, the transaction was "
        "rolled back, or the journal could not be written"),
)


# The views hold display-ready text (``visible`` applied); autoescape then
# handles HTML. They are objects, not dicts, because Jinja resolves
# ``x.attr`` on an object at once and on a dict only after a failed getattr:
# at 10,000 findings that is a third of the rendering time.
@dataclass(slots=True)
class FindingView:
    code: str
    message: str
    field: str  # empty when the message already starts with it
    expected: str
    actual: str
    fix_key: str
    fix_state: str
    fix_detail: str
    waived: bool


@dataclass(slots=True)
class CheckView:
    outcome: str
    name: str
    rule: str
    code: str
    severity: str
    order: int  # position in the default order, for the script's sort
    error: str
    findings: list[FindingView]


@dataclass(slots=True)
class RuleView:
    id: str
    code: str
    summary: str
    doc: str
    fix: str
    severity: str
    counts: dict[str, int]
    total: int
    passed: list[str]


def _csp_hash(text: str) -> str:
    # Imported here: every run loads this module for --help's option list,
    # only an --html run hashes (OpenSSL's hashlib costs ~4 ms to import).
    import base64
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _finding_view(f: Finding, info: RuleInfo) -> FindingView:
    message = visible(f.message)
    field = visible(f.field) if f.field else ""
    if field and message.startswith(f"{field}:"):  # "decky_config.hostname: row has ..."
        field = ""
    key, state, detail = fix_state(f, info)
    return FindingView(f.code, message, field, value_text(f.expected), value_text(f.actual),
                       key, state, detail, f.waived)


def _check_view(check: Check, name: str, info: RuleInfo) -> CheckView:
    return CheckView(check.outcome, name, info.id, info.code, info.severity, 0,
                     visible(check.error) if check.error else "",
                     [_finding_view(f, info) for f in check.findings])


def _sources(result: AuditResult) -> list[dict]:
    out = []
    for s in result.sources.values():
        key, status = ("bad", "✗ NOT READ") if not s.ok else \
            ("missing", "! ABSENT") if s.missing else ("ok", "✓ OK")
        out.append({"name": s.name, "key": key, "status": status, "where": visible(s.where),
                    "detail": visible(s.detail)})
    return out


def page_data(result: AuditResult) -> dict:
    """Everything the template shows, already made safe to display."""
    rules, problems = [], []
    rank = {sev: i for i, sev in enumerate(SEVERITIES)}
    for group in grouped(result):
        info = group.info
        pairs = problems_first(group)
        rules.append(RuleView(
            id=info.id,
            code=info.code,
            summary=visible(info.summary),
            doc=visible(info.doc, keep_newlines=True),
            fix=f"fixable ({info.fix_safety})" if info.fix_safety else "report only",
            severity=info.severity,
            counts={o: group.count(o) for o in OUTCOMES},
            total=len(group.checks),
            passed=[n for c, n in pairs if c.outcome == PASSED],
        ))
        problems += [_check_view(c, n, info) for c, n in pairs if c.outcome != PASSED]
    problems.sort(key=lambda v: (_PROBLEM_ORDER.get(v.outcome, 9), rank.get(v.severity, 9),
                                 v.code, v.name))
    for i, view in enumerate(problems):
        view.order = i
    found = verdict(result)
    return {
        "hostname": visible(result.hostname),
        "host_uuid": visible(result.host_uuid),
        "started_at": visible(result.started_at),
        "duration": f"{result.duration:.2f}",
        "sources": _sources(result),
        "bad_sources": sum(1 for s in result.sources.values() if not s.ok),
        "verdict": found,
        "verdict_sign": VERDICT_SIGNS[found.key],
        "exit_code": exit_code(result),
        "exit_codes": EXIT_CODES,
        "version": __version__,
        "counts": result.counts(),
        "total": len(result.checks),
        "problems": len(problems),
        "chunks": [(i + 1, problems[i:i + CHUNK]) for i in range(0, len(problems), CHUNK)],
        "chunk_size": CHUNK,
        "fixing": any(f.fix_status for f in result.findings),
        "deselected": result.deselected,
        "rules": rules,
        "severities": SEVERITIES,
        "outcomes": OUTCOMES,
        "words": OUTCOME_WORDS,
    }


def render_html(result: AuditResult) -> bytes:
    # jinja2 is imported here, not at module level: every CLI start loads
    # this plugin, and most runs never write HTML.
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("decnet_audit.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    css = env.loader.get_source(env, "report.css")[0]
    js = env.loader.get_source(env, "report.js")[0]
    page = env.get_template(TEMPLATE).render(
        **page_data(result),
        css=css,
        js=js,
        csp=(f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
             "img-src data:; base-uri 'none'; form-action 'none'"),
    )
    return page.encode("utf-8")


class HtmlReporter(Reporter):
    name = "HTML"
    option = "--html"
    help = "write a self-contained HTML report to PATH (readable offline, no JavaScript needed)"

    def render(self, result: AuditResult) -> bytes:
        return render_html(result)


@hookimpl
def decnet_audit_reporters():
    return [HtmlReporter]
