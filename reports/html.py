"""``--html PATH``: one self-contained HTML page an operator reads offline.

Everything is inline (CSS, JS, no font, image or link to anywhere else) and a
Content-Security-Policy that admits only this page's own script and style
by hash: should hostile text ever slip through escaping, the browser still
refuses to run or fetch anything. The page reads fully with JavaScript off;
the script only adds the filters.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from decnet_audit import __version__
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DRIFT, ERROR, OUTCOMES, PASSED, WAIVED, AuditResult, Check, RuleInfo
from decnet_audit.outcome import exit_code
from decnet_audit.reporter import Reporter
from decnet_audit.text import visible

from .describe import fix_text, grouped, problems_first, value_text, verdict

TEMPLATE = "report.html.j2"
# Problems are laid out in tables of this many checks, each skipped by the
# browser until scrolled near (CSS content-visibility): measured at 10,000
# findings, one table took 8-17 s to open, chunks 1-2 s.
CHUNK = 250

OUTCOME_WORDS = {
    DRIFT: ("DRIFT", "✗"),
    ERROR: ("ERROR", "!"),
    WAIVED: ("WAIVED (skipped)", "~"),
    PASSED: ("PASSED", "✓"),
}
VERDICT_SIGNS = {"no-drift": "✓", "drift": "✗", "incomplete": "!", "internal-error": "!"}


# The views hold display-ready text (``visible`` applied); autoescape then
# handles HTML. They are objects, not dicts, because Jinja resolves
# ``x.attr`` on an object at once and on a dict only after a failed getattr:
# at 10,000 findings that is a third of the rendering time.
@dataclass(slots=True)
class FindingView:
    code: str
    message: str
    field: str
    expected: str
    actual: str
    fix: str
    waived: bool


@dataclass(slots=True)
class CheckView:
    outcome: str
    name: str
    error: str
    findings: list[FindingView]


@dataclass(slots=True)
class RuleView:
    id: str
    code: str
    summary: str
    doc: str
    fix: str
    counts: dict[str, int]
    total: int
    problems: list[CheckView]
    passed: list[str]

    @property
    def chunks(self) -> list[tuple[int, list[CheckView]]]:
        """The problems in runs of CHUNK, each one table, with the 1-based
        number of its first check."""
        return [(i + 1, self.problems[i:i + CHUNK]) for i in range(0, len(self.problems), CHUNK)]


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _check_view(check: Check, name: str, info: RuleInfo) -> CheckView:
    findings = [
        FindingView(
            code=f.code,
            message=visible(f.message),
            field=visible(f.field) if f.field else "",
            expected=value_text(f.expected),
            actual=value_text(f.actual),
            fix=fix_text(f, info),
            waived=f.waived,
        )
        for f in check.findings
    ]
    return CheckView(check.outcome, name, visible(check.error) if check.error else "", findings)


def page_data(result: AuditResult) -> dict:
    """Everything the template shows, already made safe to display."""
    rules = []
    for group in grouped(result):
        info = group.info
        pairs = problems_first(group)
        rules.append(RuleView(
            id=info.id,
            code=info.code,
            summary=visible(info.summary),
            doc=visible(info.doc, keep_newlines=True),
            fix=f"fixable ({info.fix_safety})" if info.fix_safety else "report only",
            counts={o: group.count(o) for o in OUTCOMES},
            total=len(group.checks),
            problems=[_check_view(c, n, info) for c, n in pairs if c.outcome != PASSED],
            passed=[n for c, n in pairs if c.outcome == PASSED],
        ))
    found = verdict(result)
    return {
        "host_uuid": visible(result.host_uuid),
        "started_at": visible(result.started_at),
        "duration": f"{result.duration:.2f}",
        "sources": [
            {"name": s.name, "ok": s.ok, "where": visible(s.where), "detail": visible(s.detail)}
            for s in result.sources.values()
        ],
        "verdict": found,
        "verdict_sign": VERDICT_SIGNS[found.key],
        "exit_code": exit_code(result),
        "version": __version__,
        "counts": result.counts(),
        "total": len(result.checks),
        "deselected": result.deselected,
        "rules": rules,
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
