// Filters by rule, outcome and text. Without this script every check is
// simply listed; nothing here is needed to read the report.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var rule = document.getElementById("f-rule");
  var outcome = document.getElementById("f-outcome");
  var search = document.getElementById("f-text");
  var count = document.getElementById("f-count");
  var checks = Array.prototype.slice.call(document.querySelectorAll(".check"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.rule"));
  var chunks = Array.prototype.slice.call(document.querySelectorAll(".chunk"));
  var lists = Array.prototype.slice.call(document.querySelectorAll("details.passed-list"));
  // Each check's text is read once, at the first search: typing into the
  // box over 10,000 checks must not re-walk the DOM on every key.
  var texts = null;

  function apply() {
    var r = rule.value, o = outcome.value, q = search.value.trim().toLowerCase();
    var filtering = Boolean(r || o || q);
    var shown = 0;
    if (q && texts === null) {
      texts = checks.map(function (c) { return c.textContent.toLowerCase(); });
    }
    checks.forEach(function (c, i) {
      var ok = (!r || c.dataset.rule === r) && (!o || c.dataset.outcome === o) &&
               (!q || texts[i].indexOf(q) !== -1);
      c.hidden = !ok;
      if (ok) { shown += 1; }
    });
    chunks.forEach(function (k) {
      k.hidden = filtering && !k.querySelector(".check:not([hidden])");
    });
    sections.forEach(function (s) {
      s.hidden = filtering && !s.querySelector(".check:not([hidden])");
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

  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  form.hidden = false;
  apply();
}());
