/* 我的待办 (issue #14): one tab per bucket the user's posts have, with its count; the
 * bucket's cases most urgent first; a row opens the case page. */
(function () {
  "use strict";
  const gm = window.gm, cs = window.cs;
  const body = document.getElementById("cs-body");
  let bucket = null;

  async function show(b) {
    bucket = b;
    for (const t of document.querySelectorAll(".cs-tab")) t.setAttribute("aria-selected", String(t.dataset.bucket === b));
    const res = await cs.call("/api/cases/worklist/" + encodeURIComponent(b) + "?page_size=200");
    cs.clear(body);
    if (!res.ok) { cs.show("cs-error", cs.message(res)); return; }
    for (const r of res.body.items) {
      body.appendChild(cs.row([r.case_no || "#" + r.id, r.category_name, r.state_label, r.urgency_label, r.unit_name,
                               r.address, r.description, cs.time(r.accept_due_at || r.due_at)],
                              () => { window.location.href = cs.caseUrl(r.id); }));
    }
    if (!res.body.items.length) body.appendChild(cs.row([gm.t("cases.todo_none")]));
  }
  async function load() {
    const res = await cs.call("/api/cases/worklist");
    if (!res.ok) { cs.show("cs-error", cs.message(res)); return; }
    const counts = res.body.counts;
    let first = null, busiest = null;
    for (const t of document.querySelectorAll(".cs-tab")) {
      const b = t.dataset.bucket;
      t.hidden = !(b in counts);
      if (t.hidden) continue;
      t.querySelector("[data-count]").textContent = String(counts[b]);
      if (first === null) first = b;
      if (counts[b] > 0 && busiest === null) busiest = b;
      t.addEventListener("click", () => show(b));
    }
    document.getElementById("cs-none").hidden = first !== null;
    const wanted = new URLSearchParams(window.location.search).get("bucket");
    const b = wanted && wanted in counts ? wanted : (busiest || first);
    if (b) show(b);
  }
  load();
})();
