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
