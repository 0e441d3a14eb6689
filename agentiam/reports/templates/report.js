// Client-side filter for the findings tables. It only toggles row visibility and writes counts with
// textContent: no markup is ever built from report data.
(function () {
  "use strict";
  const severity = document.getElementById("filter-severity");
  const search = document.getElementById("filter-text");
  const counter = document.getElementById("filter-count");
  if (!severity || !search || !counter) {
    return;
  }
  const rows = Array.from(document.querySelectorAll("tr[data-sev]"));
  let texts = null; // lower-cased row text, read once and only when a search is first typed

  function apply() {
    const wanted = severity.value;
    const needle = search.value.trim().toLowerCase();
    if (needle && texts === null) {
      texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    }
    let shown = 0;
    for (let i = 0; i < rows.length; i++) {
      const visible = (!wanted || rows[i].dataset.sev === wanted) && (!needle || texts[i].indexOf(needle) !== -1);
      if (rows[i].hidden === visible) {
        rows[i].hidden = !visible;
      }
      if (visible) {
        shown++;
      }
    }
    counter.textContent = shown === rows.length ? "" : shown + " of " + rows.length + " findings shown";
  }

  severity.addEventListener("change", apply);
  search.addEventListener("input", apply);
})();
