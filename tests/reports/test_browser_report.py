"""The HTML report in a real browser: headless Chromium opens it, a test uses
the filters and reads what is shown, with JavaScript on and off.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-
pipe``: commands on fd 3, replies on fd 4, each JSON message ended by a NUL
byte), so the test needs no port, no websocket library and no chromedriver;
only Debian's ``chromium`` package.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import unavailable

from decnet_audit.model import DRIFT, AuditResult, Check, Finding, SourceStatus
from decnet_audit.reports.html import render_html
from decnet_audit.rules.json_only import JsonOnly
from kit.example import example_args
from kit.fleet import run_cli
from kit.report import PsCapture, audit_all, docker_args, drifted_fleet, hostile_fleet

CHROMIUM = (os.environ.get("DECNET_AUDIT_CHROMIUM") or shutil.which("chromium")
            or "/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--remote-debugging-pipe", "--window-size=1280,1600",
]
TIMEOUT = 30  # seconds for any one browser answer; a loaded CI machine is slow


class BrowserError(Exception):
    pass


class Chromium:
    """One headless Chromium and the DevTools messages exchanged with it."""

    def __init__(self, exe: str = CHROMIUM):
        self.profile = tempfile.mkdtemp(prefix="decnet-audit-chromium-")
        to_browser, self._to_browser = os.pipe()
        self._from_browser, from_browser = os.pipe()

        def wire_fds():
            # Move both ends above 10 first: dup2 onto 3 or 4 must not close
            # the other end if the kernel happened to hand out fd 3 or 4.
            a = fcntl.fcntl(to_browser, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_browser, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            pass_fds=(3, 4), preexec_fn=wire_fds,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float = TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return self.events.pop(i)["params"]
            self.events.append(self._read(deadline - time.monotonic()))

    def _read(self, timeout: float = TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited (status {self.proc.poll()})")
            self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        shutil.rmtree(self.profile, ignore_errors=True)


class Tab:
    """One page of the browser, with helpers a test reads like a user."""

    def __init__(self, browser: Chromium, *, javascript: bool = True):
        self.b = browser
        self.target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget",
                                    {"targetId": self.target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        if not javascript:
            self.call("Emulation.setScriptExecutionDisabled", {"value": True})

    def call(self, method: str, params: dict | None = None) -> dict:
        return self.b.send(method, params, self.session)

    def open(self, path: Path) -> float:
        """Load a file and return the seconds until its load event."""
        t0 = time.perf_counter()
        self.call("Page.navigate", {"url": path.resolve().as_uri()})
        self.b.wait_for("Page.loadEventFired", self.session)
        return time.perf_counter() - t0

    def js(self, expression: str):
        reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def choose(self, select_id: str, value: str) -> None:
        self.js(f"""(() => {{ const s = document.getElementById({json.dumps(select_id)});
            s.value = {json.dumps(value)};
            s.dispatchEvent(new Event("change", {{bubbles: true}})); }})()""")

    def type_search(self, text: str) -> None:
        self.js('document.getElementById("f-text").focus()')
        self.call("Input.insertText", {"text": text})

    def shown_checks(self) -> set[tuple[str, str, str]]:
        """(rule, outcome, decky) of every check the page actually renders."""
        rows = self.js("""[...document.querySelectorAll(".check")]
            .filter(c => c.checkVisibility())
            .map(c => [c.dataset.rule, c.dataset.outcome,
                       c.querySelector(".decky").textContent])""")
        return {tuple(r) for r in rows}

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        shots = os.environ.get("DECNET_AUDIT_SCREENSHOTS")
        if shots:  # keep a copy to look at by eye
            Path(shots).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(shots) / path.name)
        return path

    def events(self, method: str) -> list[dict]:
        return [e["params"] for e in self.b.events
                if e.get("method") == method and e.get("sessionId") == self.session]

    def close(self) -> None:
        self.b.send("Target.closeTarget", {"targetId": self.target})


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        unavailable("Chromium", f"{CHROMIUM} not found (Debian package: chromium)")
    try:
        browser = Chromium()
        browser.send("Browser.getVersion")
    except (OSError, BrowserError) as exc:
        unavailable("Chromium", f"{type(exc).__name__}: {exc}")
    yield browser
    browser.close()


@pytest.fixture
def tab(chromium, request):
    if request.node.get_closest_marker("browser") is None:
        pytest.fail("tests using a browser must be marked @pytest.mark.browser")
    t = Tab(chromium, javascript=getattr(request, "param", True))
    yield t
    t.close()


def csp_violations(tab: Tab) -> list[str]:
    return [e["entry"]["text"] for e in tab.events("Log.entryAdded")
            if "Content Security Policy" in e["entry"]["text"]]


@pytest.fixture
def drifted_report(tmp_path, sqlite_db):
    docker = PsCapture(tmp_path / "ps.jsonl")
    fleet = drifted_fleet(tmp_path, sqlite_db, docker)
    return fleet, audit_all(tmp_path, fleet.state, sqlite_db.url, docker_args(docker))


@pytest.mark.browser
def test_filters_show_exactly_what_they_select(tab, drifted_report, tmp_path):
    fleet, rep = drifted_report
    checks = {(c["rule"], c["outcome"], c["decky"]) for c in rep.json["checks"]}
    tab.open(rep.html)
    assert tab.js('document.getElementById("filters").hidden') is False
    assert tab.js('document.getElementById("f-count").value') == f"all {len(checks)} checks shown"
    # Unfiltered: the problems are open, the passes folded away.
    assert tab.shown_checks() == {c for c in checks if c[1] != "passed"}

    tab.choose("f-outcome", "passed")
    assert tab.shown_checks() == {c for c in checks if c[1] == "passed"}

    tab.choose("f-outcome", "drift")
    tab.choose("f-rule", "db-only")
    assert tab.shown_checks() == {("db-only", "drift", d) for d in fleet.drift["db-only"]}
    assert tab.js('document.getElementById("f-count").value') == \
        f"1 of {len(checks)} checks shown"
    # A section with nothing to show is hidden with its heading.
    assert tab.js('document.getElementById("rule-json-only").checkVisibility()') is False

    tab.choose("f-rule", "")
    tab.choose("f-outcome", "")
    (dead,) = fleet.drift["docker-mismatch"]
    tab.type_search(dead.upper())  # search ignores case
    assert tab.shown_checks() == {c for c in checks if c[2] == dead}
    shot = tab.screenshot(tmp_path / "filtered-report.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    assert csp_violations(tab) == []  # the page's own script and style were allowed


@pytest.mark.browser
def test_hostile_names_run_nothing_in_the_browser(tab, tmp_path, sqlite_db):
    fleet = hostile_fleet(tmp_path, sqlite_db)
    rep = audit_all(tmp_path, fleet.state, sqlite_db.url, PsCapture(tmp_path / "ps.jsonl").args())
    tab.open(rep.html)
    assert tab.events("Page.javascriptDialogOpening") == []
    assert tab.js("document.scripts.length") == 1
    assert tab.js('document.querySelectorAll("img, b, iframe").length') == 0
    tab.type_search("<script>")
    name = "<script>alert(1)</script>"
    shown = tab.shown_checks()
    assert ("docker-mismatch", "drift", name) in shown
    assert shown == {(c["rule"], c["outcome"], c["decky"]) for c in rep.json["checks"]
                     if c["decky"] == name}
    assert csp_violations(tab) == []


@pytest.mark.browser
@pytest.mark.parametrize("tab", [False], indirect=True, ids=["javascript-off"])
def test_report_reads_fully_without_javascript(tab, drifted_report):
    fleet, rep = drifted_report
    tab.open(rep.html)
    problems = {(c["rule"], c["outcome"], c["decky"]) for c in rep.json["checks"]
                if c["outcome"] != "passed"}
    # Read through DevTools, which still evaluates with page scripts off.
    assert tab.shown_checks() == problems
    assert tab.js('document.getElementById("filters").checkVisibility()') is False
    assert tab.js('document.getElementById("f-count").value') == ""  # the script never ran


def ten_thousand_findings() -> AuditResult:
    """A result as the engine would make it for 10,000 deckies in the state
    file and none in the database (json-only's finding, word for word)."""
    info = JsonOnly.info()
    checks = []
    for i in range(10_000):
        name = f"decky-{i:05d}"
        checks.append(Check(info.id, name, DRIFT, [Finding(
            info.id, info.code, name, "local",
            f"{name} is in the state file but fleet_deckies has no row for host 'local'; "
            f"converge: insert the row from the state file",
            expected=f"row (local, {name})", actual="no row", fixable=True)]))
    return AuditResult("local", "2026-01-01T00:00:00+00:00", 1.0,
                       {"state": SourceStatus("state", True, "decnet-state.json", "10000 deckies")},
                       [info], checks)


@pytest.mark.browser
def test_ten_thousand_findings_open_quickly_and_filter(tab, tmp_path):
    page = tmp_path / "big.html"
    page.write_bytes(render_html(ten_thousand_findings()))
    seconds = tab.open(page)
    print(f"10,000 findings: {page.stat().st_size} bytes, load event after {seconds:.2f} s")
    assert seconds < 30  # generous: CI shares two cores; the layout check below is the real one
    # What keeps it quick: only the tables near the viewport are laid out.
    laid_out = tab.js("""[...document.querySelectorAll(".check")]
        .filter(c => c.checkVisibility({contentVisibilityAuto: true})).length""")
    assert 0 < laid_out <= 2 * 250
    t0 = time.perf_counter()
    tab.type_search("decky-0999")  # the page filters on the input event, before this returns
    assert tab.js('document.getElementById("f-count").value') == "10 of 10000 checks shown"
    print(f"10,000 findings: a search shows its 10 in {time.perf_counter() - t0:.2f} s")
    assert {d for _, _, d in tab.shown_checks()} == {f"decky-0999{i}" for i in range(10)}


# Letters of ordinary words (not code, paths, names or values, which may break
# anywhere inside their cell) that the browser laid out on two lines.
LAYOUT = """(() => {
  const data = "code, pre, time, .decky, .expected, .actual, .error";
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(data) || !el.checkVisibility()) continue;
    for (const m of n.data.matchAll(/[A-Za-z]{2,}/g)) {
      const r = document.createRange();
      r.setStart(n, m.index);
      r.setEnd(n, m.index + m[0].length);
      const lines = new Set([...r.getClientRects()].filter(x => x.width > 0)
                             .map(x => Math.round(x.top)));
      if (lines.size > 1) broken.push(m[0]);
    }
  }
  const first = document.querySelector("tbody.check");
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: innerWidth,
          broken: broken, firstFinding: first ? first.getBoundingClientRect().top : null};
})()"""


@pytest.fixture
def example_report(tmp_path):
    html = tmp_path / "example.html"
    run = run_cli(*example_args(tmp_path), "--html", str(html), cwd=tmp_path)
    assert run.rc == 1, run.err
    return html


def at_size(tab: Tab, width: int, height: int) -> None:
    tab.call("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


@pytest.mark.browser
@pytest.mark.parametrize("tab", [True, False], indirect=True, ids=["js", "javascript-off"])
@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_readable_at_desktop_and_phone_width(tab, example_report, tmp_path, width, height,
                                             request):
    at_size(tab, width, height)
    tab.open(example_report)
    seen = tab.js(LAYOUT)
    js = "js" if request.node.callspec.params["tab"] else "nojs"
    shot = tab.screenshot(tmp_path / f"report-{width}x{height}-{js}.png")
    assert shot.stat().st_size > 10_000
    print(f"{width}x{height} {js}: scrollWidth {seen['scrollWidth']}, first finding at "
          f"y={seen['firstFinding']:.0f}, {len(seen['broken'])} words cut")
    # Nothing wider than the screen: no sideways scrolling of the page.
    assert seen["scrollWidth"] <= seen["innerWidth"] == width, seen
    # No word is cut in two ("Sou rce", "DR IFT").
    assert seen["broken"] == [], seen["broken"]
    # The first finding is on the first screen, below the verdict.
    assert 0 < seen["firstFinding"] < height, seen
    verdict_bottom = tab.js('document.getElementById("verdict").getBoundingClientRect().bottom')
    assert verdict_bottom < seen["firstFinding"]


@pytest.mark.browser
def test_the_findings_table_sorts_and_folds(tab, example_report):
    tab.open(example_report)

    def column(cls):
        return tab.js(f"""[...document.querySelectorAll("tbody.check")]
            .map(c => c.querySelector(".{cls}").textContent.trim())""")

    # Worst first with JavaScript off too: high severity before medium and low.
    ranks = {"high": 0, "medium": 1, "low": 2}
    assert column("sev") == sorted(column("sev"), key=ranks.get)

    def click(key):
        tab.js(f"""document.querySelector('.findings th[data-key="{key}"] button').click()""")

    click("decky")
    assert column("decky") == sorted(column("decky"))
    click("decky")
    assert column("decky") == sorted(column("decky"), reverse=True)
    click("rule")
    assert [r.split()[1] for r in column("rule")] == sorted(r.split()[1] for r in column("rule"))
    # Sorting keeps the filters working.
    tab.choose("f-severity", "low")  # config-drift alone is low
    shown = tab.shown_checks()
    assert {rule for rule, _, _ in shown} == {"config-drift"}
    assert ("config-drift", "drift", "decky-03") in shown
    tab.choose("f-severity", "")

    assert tab.js("[...document.querySelectorAll('details')].some(d => d.open)") is False
    tab.js('document.getElementById("expand-all").click()')
    assert tab.js("[...document.querySelectorAll('details')].every(d => d.open)") is True
    tab.js('document.getElementById("collapse-all").click()')
    assert tab.js("[...document.querySelectorAll('details')].some(d => d.open)") is False
