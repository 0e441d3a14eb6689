// The findings table: paging, filtering, sorting and details, over rows the report already holds as markup.
// No markup is ever built from report data here: rows and details come from the page's own (escaped) templates,
// and the few facts written by this script are set with textContent.
(function () {
  "use strict";
  const body = document.getElementById("findings-body");
  if (!body) {
    document.documentElement.setAttribute("data-ready", "1"); // tests wait on this: nothing to wire
    return;
  }
  const $ = function (id) { return document.getElementById(id); };
  const controls = {
    status: $("filter-status"),
    severity: $("filter-severity"),
    category: $("filter-category"),
    provider: $("filter-provider"),
    suppressed: $("filter-suppressed"),
    agent: $("filter-agent"),
    text: $("filter-text"),
  };
  const pageInfo = $("page-info");
  const prev = $("page-prev");
  const next = $("page-next");
  const pageSizeControl = $("page-size");
  const subjectNote = $("subject-filter");
  const RANKS = {
    severity: { critical: 0, high: 1, medium: 2, low: 3, info: 4 },
    status: { new: 0, reopened: 1, persisting: 2, resolved: 3 },
  };
  // The element holding the text a column sorts by, reached by position (see findings_table.html.j2): walking
  // siblings is much faster than a selector query per row at 50,000 rows.
  const TEXT_COLUMNS = {
    rule: function (row) { return row.cells[2].firstChild; }, // <code>
    subject: function (row) { return row.cells[3].lastChild.previousSibling; }, // <span> before <small>
    title: function (row) { return row.cells[4].firstChild; }, // <button class="more">
  };

  let rows = null; // every finding row, worst first: the live page's, then each chunk's
  let meta = null; // per row: the attributes filters read, read once
  let texts = null; // per row: lower-cased searchable text, built when a search is first typed
  const sortKeys = {}; // per column: one key per row, built when the column is first sorted
  const details = new Map(); // row -> its expanded detail row
  let order = null; // indices of the rows that pass the filters, in display order
  let page = 0;
  let pageSize = Number(pageSizeControl.value);
  let subject = "";
  let sortColumn = "";
  let sortDescending = false;

  function gather() {
    if (rows !== null) {
      return;
    }
    rows = Array.from(body.rows).filter(function (row) { return !row.classList.contains("detail-row"); });
    const chunks = document.querySelectorAll("template.chunk");
    for (let c = 0; c < chunks.length; c++) {
      const children = chunks[c].content.children;
      for (let i = 0; i < children.length; i++) {
        rows.push(children[i]);
      }
    }
    meta = rows.map(function (row) {
      return {
        severity: row.getAttribute("data-s"),
        status: row.getAttribute("data-t"),
        category: row.getAttribute("data-c"),
        provider: row.getAttribute("data-p"),
        agent: row.hasAttribute("data-a"),
        suppressed: row.hasAttribute("data-x"),
        subject: row.getAttribute("data-u"),
      };
    });
  }

  // The search text of a row: what it shows, its subject's uid, its fingerprint and its evidence (read from the
  // evidence template, once per distinct evidence).
  const evidenceTexts = {};
  function searchText(row) {
    const e = row.getAttribute("data-e");
    if (!(e in evidenceTexts)) {
      const template = $("ev-" + e);
      evidenceTexts[e] = template ? template.content.textContent : "";
    }
    return (row.textContent + " " + row.getAttribute("data-u") + " " + row.getAttribute("data-fp") + " " +
      evidenceTexts[e]).toLowerCase();
  }

  let indexed = 0; // rows whose search text is built: in idle time after load, or all at once by a search
  function index(until) {
    gather();
    if (texts === null) {
      texts = new Array(rows.length);
    }
    while (indexed < rows.length && until()) {
      const stop = Math.min(rows.length, indexed + 250);
      for (; indexed < stop; indexed++) {
        texts[indexed] = searchText(rows[indexed]);
      }
    }
  }

  function searchable() {
    index(function () { return true; });
    return texts;
  }

  function indexWhenIdle(deadline) {
    index(function () { return deadline.timeRemaining() > 3; });
    if (indexed < rows.length) {
      requestIdleCallback(indexWhenIdle);
    }
  }

  function statusMatches(wanted, status) {
    if (wanted === "all") {
      return true;
    }
    if (wanted === "open") {
      return status !== "resolved";
    }
    if (wanted === "fresh") {
      return status === "new" || status === "reopened";
    }
    return status === wanted;
  }

  function filter() {
    gather();
    const status = controls.status.value;
    const severity = controls.severity.value;
    const category = controls.category.value;
    const provider = controls.provider.value;
    const suppressed = controls.suppressed.value;
    const agentOnly = controls.agent.checked;
    const needle = controls.text.value.trim().toLowerCase();
    const haystack = needle ? searchable() : null;
    const matched = [];
    for (let i = 0; i < meta.length; i++) {
      const m = meta[i];
      if (!statusMatches(status, m.status) ||
          (severity && m.severity !== severity) ||
          (category && m.category !== category) ||
          (provider && m.provider !== provider) ||
          (suppressed === "hide" && m.suppressed) ||
          (suppressed === "only" && !m.suppressed) ||
          (agentOnly && !m.agent) ||
          (subject && m.subject !== subject) ||
          (needle && haystack[i].indexOf(needle) === -1)) {
        continue;
      }
      matched.push(i);
    }
    order = sortColumn ? sorted(matched) : matched;
    page = 0;
    show();
  }

  function keysFor(column) {
    if (!(column in sortKeys)) {
      if (column in RANKS) {
        const ranks = RANKS[column];
        sortKeys[column] = meta.map(function (m) {
          const rank = ranks[m[column]];
          return rank === undefined ? 9 : rank;
        });
      } else {
        const element = TEXT_COLUMNS[column];
        sortKeys[column] = rows.map(function (row) { return element(row).textContent.toLowerCase(); });
      }
    }
    return sortKeys[column];
  }

  function sorted(indices) {
    const keys = keysFor(sortColumn);
    const direction = sortDescending ? -1 : 1;
    // Ties keep the report's own order (worst first), whichever the direction.
    return indices.sort(function (a, b) {
      if (keys[a] < keys[b]) {
        return -direction;
      }
      if (keys[a] > keys[b]) {
        return direction;
      }
      return a - b;
    });
  }

  function show() {
    const pages = Math.max(1, Math.ceil(order.length / pageSize));
    page = Math.min(page, pages - 1);
    const start = page * pageSize;
    const end = Math.min(order.length, start + pageSize);
    const fragment = document.createDocumentFragment();
    for (let k = start; k < end; k++) {
      const row = rows[order[k]];
      fragment.appendChild(row);
      if (details.has(row)) {
        fragment.appendChild(details.get(row));
      }
    }
    body.replaceChildren(fragment);
    pageInfo.textContent = order.length === 0
      ? "No finding matches these filters (" + rows.length + " in the report)."
      : (start + 1) + "–" + end + " of " + order.length + " matching findings (" + rows.length + " in the report)";
    prev.disabled = page === 0;
    next.disabled = end >= order.length;
  }

  function toggleDetail(row, button) {
    if (details.has(row)) {
      details.get(row).remove();
      details.delete(row);
      button.setAttribute("aria-expanded", "false");
      return;
    }
    const detail = document.createElement("tr");
    detail.className = "detail-row";
    const cell = document.createElement("td");
    cell.colSpan = row.cells.length;
    const box = document.createElement("div");
    box.className = "detail";
    box.appendChild(heading("Evidence"));
    append(box, "ev-" + row.getAttribute("data-e"));
    append(box, "rule-" + row.getAttribute("data-r"));
    if (row.hasAttribute("data-q")) {
      append(box, "supp-" + row.getAttribute("data-q"));
    }
    box.appendChild(facts(row));
    cell.appendChild(box);
    detail.appendChild(cell);
    row.after(detail);
    details.set(row, detail);
    button.setAttribute("aria-expanded", "true");
  }

  function heading(text) {
    const h = document.createElement("h4");
    h.textContent = text;
    return h;
  }

  function append(box, templateId) {
    const template = $(templateId);
    if (template) {
      box.appendChild(template.content.cloneNode(true));
    }
  }

  function facts(row) {
    const list = document.createElement("dl");
    list.className = "facts";
    const items = [["Subject", row.getAttribute("data-u")], ["Fingerprint", row.getAttribute("data-fp")]];
    if (row.hasAttribute("data-b")) {
      items.push(["Severity", row.getAttribute("data-s") + ", adjusted from the rule default " +
        row.getAttribute("data-b")]);
    }
    items.push(["First seen", row.getAttribute("data-f")]);
    items.forEach(function (item) {
      const term = document.createElement("dt");
      term.textContent = item[0];
      const value = document.createElement("dd");
      value.textContent = item[1];
      list.append(term, value);
    });
    return list;
  }

  function showSubject(uid, name) {
    subject = uid;
    $("subject-name").textContent = name;
    subjectNote.hidden = !uid;
    controls.status.value = "open";
    filter();
    document.getElementById("findings").scrollIntoView();
  }

  // The script runs as soon as the first page is parsed, while the other rows and the details are still arriving:
  // what needs them waits for the end of parsing, and the table says so meanwhile.
  let loading = document.readyState === "loading";
  const waiting = [];
  function whenLoaded(action) {
    return function (event) {
      if (!loading) {
        action(event);
        return;
      }
      waiting.push(function () { action(event); });
      pageInfo.textContent = "Loading the other findings\u2026";
    };
  }
  function loaded() {
    loading = false;
    waiting.splice(0).forEach(function (action) { action(); });
    if ("requestIdleCallback" in window) {
      // A first search at 50,000 findings would otherwise spend a second or two reading every row first.
      requestIdleCallback(indexWhenIdle);
    }
  }

  let typing = 0;
  Object.keys(controls).forEach(function (name) {
    const control = controls[name];
    if (name === "text") {
      // One filter pass per pause in typing, not one per keystroke.
      control.addEventListener("input", function () {
        clearTimeout(typing);
        typing = setTimeout(whenLoaded(filter), 150);
      });
    } else {
      control.addEventListener("change", whenLoaded(filter));
    }
  });
  pageSizeControl.addEventListener("change", whenLoaded(function () {
    pageSize = Number(pageSizeControl.value);
    if (order === null) {
      filter();
    } else {
      page = 0;
      show();
    }
  }));
  prev.addEventListener("click", whenLoaded(function () {
    if (order === null) {
      filter();
    }
    page = Math.max(0, page - 1);
    show();
  }));
  next.addEventListener("click", whenLoaded(function () {
    if (order === null) {
      filter();
    }
    page += 1;
    show();
  }));
  document.querySelectorAll("button.sort").forEach(function (button) {
    button.addEventListener("click", whenLoaded(function () {
      const column = button.getAttribute("data-sort");
      sortDescending = sortColumn === column ? !sortDescending : false;
      sortColumn = column;
      document.querySelectorAll("#findings-table th").forEach(function (th) {
        th.setAttribute("aria-sort", "none");
      });
      button.parentElement.setAttribute("aria-sort", sortDescending ? "descending" : "ascending");
      filter();
    }));
  });
  body.addEventListener("click", whenLoaded(function (event) {
    const button = event.target.closest("button.more");
    if (button) {
      toggleDetail(button.closest("tr"), button);
    }
  }));
  $("subject-clear").addEventListener("click", whenLoaded(function () {
    showSubject("", "");
  }));
  document.querySelectorAll("[data-show-subject]").forEach(function (button) {
    button.addEventListener("click", whenLoaded(function () {
      showSubject(button.getAttribute("data-show-subject"), button.getAttribute("data-subject-name"));
    }));
  });
  document.querySelectorAll("[data-show-status]").forEach(function (button) {
    button.addEventListener("click", whenLoaded(function () {
      controls.status.value = button.getAttribute("data-show-status");
      filter();
      document.getElementById("findings").scrollIntoView();
    }));
  });
  if (loading) {
    document.addEventListener("DOMContentLoaded", loaded);
  } else {
    loaded();
  }
  document.documentElement.setAttribute("data-ready", "1"); // tests wait on this: every handler is wired
})();
