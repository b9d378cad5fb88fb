/* 我的待办 count in the page header (case workspace, issue #14): the sum of the user's
 * worklist buckets, as text. */
(function () {
  "use strict";
  const badge = document.getElementById("gm-todo-count");
  if (!badge) return;
  fetch("/api/cases/worklist", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null))
    .then((body) => {
      if (!body || !body.counts) return;
      const n = Object.values(body.counts).reduce((a, b) => a + b, 0);
      badge.textContent = String(n);
      badge.hidden = n === 0;
    })
    .catch(() => {});
})();

/* Supervisor page → case workspace (issue #14): each grid popup (hotspots open the same popup) a link to the grid's open
 * cases (overdue rows link to the case page themselves, supervisor/overdue.js). Added by watching the supervisor page's DOM; the links' text is set as text. */
(function () {
  "use strict";
  if (!document.body.classList.contains("gm-supervisor")) return;
  const zh = (document.documentElement.lang || "zh").startsWith("zh");
  function link(href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.className = "cs-open-link";
    a.textContent = text;
    a.addEventListener("click", (e) => e.stopPropagation());
    return a;
  }
  function decorate() {
    for (const h of document.querySelectorAll(".sup-popup h3:not([data-cs])")) {
      h.setAttribute("data-cs", "1");
      const m = /\(([^()]+)\)\s*$/.exec(h.textContent);
      if (!m) continue;
      const p = document.createElement("p");
      p.appendChild(link("/cases?open=true&grid=" + encodeURIComponent(m[1]), zh ? "查看该网格未结案件" : "Open cases of this grid"));
      h.after(p);
    }
  }
  new MutationObserver(decorate).observe(document.body, { childList: true, subtree: true });
  decorate();
})();
