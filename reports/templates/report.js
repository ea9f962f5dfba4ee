// Filters, sorting and expand/collapse. Without this script every check is
// simply listed, worst first; nothing here is needed to read the report.
(function () {
  "use strict";
  function all(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }
  var form = document.getElementById("filters");
  var rule = document.getElementById("f-rule");
  var severity = document.getElementById("f-severity");
  var outcome = document.getElementById("f-outcome");
  var search = document.getElementById("f-text");
  var count = document.getElementById("f-count");
  var checks = all(".check");
  var rows = all("tbody.check");
  var sections = all("section.rule");
  var chunks = all(".chunk");
  var lists = all("details.passed-list");
  var CHUNK = rows.length && chunks.length ? Math.ceil(rows.length / chunks.length) : 1;
  // Each check's text is read once, at the first search: typing into the
  // box over 10,000 checks must not re-walk the DOM on every key.
  var texts = null;

  function apply() {
    var r = rule.value, s = severity.value, o = outcome.value;
    var q = search.value.trim().toLowerCase();
    var filtering = Boolean(r || s || o || q);
    var shown = 0;
    if (q && texts === null) {
      texts = checks.map(function (c) { return c.textContent.toLowerCase(); });
    }
    checks.forEach(function (c, i) {
      var ok = (!r || c.dataset.rule === r) && (!s || c.dataset.severity === s) &&
               (!o || c.dataset.outcome === o) && (!q || texts[i].indexOf(q) !== -1);
      c.hidden = !ok;
      if (ok) { shown += 1; }
    });
    var headed = false;
    chunks.forEach(function (k) {
      k.hidden = filtering && !k.querySelector(".check:not([hidden])");
      // The column headings show on the first chunk still shown.
      k.classList.toggle("first", !k.hidden && !headed);
      if (!k.hidden) { headed = true; }
    });
    sections.forEach(function (sec) {
      sec.hidden = filtering && sec.dataset.rule !== r &&
                   !sec.querySelector(".check:not([hidden])");
    });
    // A filter that selects passed checks must show them, not leave them folded.
    lists.forEach(function (d) {
      var any = Boolean(d.querySelector(".check:not([hidden])"));
      d.hidden = filtering && !any;
      d.open = filtering && any;
    });
    count.value = filtering ? shown + " of " + checks.length + " checks shown"
                            : "all " + checks.length + " checks shown";
  }

  // Sorting moves whole checks (a check's findings stay together) and
  // deals them out again over the chunks, so the page stays quick.
  var RANK = { severity: { high: 0, medium: 1, low: 2 },
               outcome: { error: 0, drift: 1, waived: 2, fixed: 3, passed: 4 } };
  function key(row, k) {
    if (k === "decky") { return row.querySelector(".decky").textContent; }
    if (k === "rule") { return row.dataset.rule; }
    if (k === "fix") { var f = row.querySelector(".fix strong"); return f ? f.textContent : ""; }
    var v = RANK[k][row.dataset[k]];
    return v === undefined ? 9 : v;
  }
  function sortBy(th) {
    var k = th.dataset.key;
    var down = th.getAttribute("aria-sort") === "ascending";
    all(".findings thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", down ? "descending" : "ascending");
    var sign = down ? -1 : 1;
    rows.sort(function (a, b) {
      var x = key(a, k), y = key(b, k);
      if (x < y) { return -sign; }
      if (x > y) { return sign; }
      return Number(a.dataset.order) - Number(b.dataset.order);
    });
    rows.forEach(function (row, i) {
      chunks[Math.floor(i / CHUNK)].querySelector("table").appendChild(row);
    });
    texts = null;
    checks = all(".check");
  }
  var head = document.querySelector(".chunk.first thead");
  if (head) {
    Array.prototype.slice.call(head.querySelectorAll("th[data-key]")).forEach(function (th) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = th.textContent;
      b.title = "sort by " + th.textContent.toLowerCase();
      th.textContent = "";
      th.appendChild(b);
      b.addEventListener("click", function () { sortBy(th); apply(); });
    });
  }

  function fold(open) {
    all("details").forEach(function (d) { d.open = open; });
  }
  document.getElementById("expand-all").addEventListener("click", function () { fold(true); });
  document.getElementById("collapse-all").addEventListener("click", function () { fold(false); });
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  form.hidden = false;
  apply();
}());
