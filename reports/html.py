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

from decnet_audit import __version__
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import OUTCOMES, WAIVED, AuditResult, Check, RuleInfo
from decnet_audit.reporter import Reporter
from decnet_audit.summary import exit_code, summary
from decnet_audit.text import visible

from .checks import fix_text, grouped, problems_first, value_text, verdict

TEMPLATE = "report.html.j2"
# Above this many problem checks the page opens with them folded, so that a
# browser lays out 10,000 findings as one line each until asked for more.
OPEN_LIMIT = 100

OUTCOME_WORDS = {
    "drift": ("DRIFT", "✗"),
    "error": ("ERROR", "!"),
    "waived": ("WAIVED (skipped)", "~"),
    "passed": ("PASSED", "✓"),
}

VERDICT_SIGNS = {"no-drift": "✓", "drift": "✗", "incomplete": "!", "internal-error": "!"}


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _finding_rows(check: Check, info: RuleInfo) -> list[dict]:
    return [
        {
            "code": f.code,
            "message": visible(f.message),
            "field": visible(f.field) if f.field else "",
            "expected": value_text(f.expected),
            "actual": value_text(f.actual),
            "fix": fix_text(f, info),
            "waived": f.waived,
        }
        for f in check.findings
    ]


def page_data(result: AuditResult) -> dict:
    """Everything the template shows, already made safe to display
    (``visible``); the template's autoescape then takes care of HTML."""
    groups = grouped(result)
    problems = sum(1 for c in result.checks if c.outcome != "passed")
    rules = []
    for group in groups:
        info = group.info
        checks = []
        for check, name in problems_first(group):
            rows = _finding_rows(check, info)
            checks.append({
                "outcome": check.outcome,
                "name": name,
                "headline": rows[0]["message"] if rows else visible(check.error or ""),
                "error": visible(check.error) if check.error else "",
                "findings": rows,
            })
        rules.append({
            "id": info.id,
            "code": info.code,
            "summary": visible(info.summary),
            "doc": visible(info.doc, keep_newlines=True),
            "fix": (f"fixable ({info.fix_safety})" if info.fix_safety else "report only"),
            "counts": {o: group.count(o) for o in OUTCOMES},
            "total": len(group.checks),
            "problems": [c for c in checks if c["outcome"] != "passed"],
            "passed": [c for c in checks if c["outcome"] == "passed"],
        })
    return {
        "host_uuid": visible(result.host_uuid),
        "started_at": visible(result.started_at),
        "duration": f"{result.duration:.2f}",
        "sources": [
            {"name": s.name, "ok": s.ok, "where": visible(s.where), "detail": visible(s.detail)}
            for s in result.sources.values()
        ],
        "verdict": verdict(result),
        "verdict_sign": VERDICT_SIGNS[verdict(result).key],
        "exit_code": exit_code(result),
        "version": __version__,
        "summary": summary(result),
        "counts": result.counts(),
        "total": len(result.checks),
        "interrupted": result.interrupted,
        "deselected": result.deselected,
        "rules": rules,
        "outcomes": OUTCOMES,
        "words": OUTCOME_WORDS,
        "waived": WAIVED,
        "open_problems": problems <= OPEN_LIMIT,
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
