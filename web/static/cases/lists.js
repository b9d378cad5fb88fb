/* 三张清单 of a community (issue #14): 问题清单, 服务清单 (life-circle facilities and the
 * community's own list, editable when allowed), 解决清单; XLSX export. */
(function () {
  "use strict";
  const gm = window.gm, cs = window.cs;
  const pick = document.getElementById("cs-community");
  const svcForm = document.getElementById("cs-service-form");

  function fill(id, rows, cells, open) {
    const tb = document.getElementById(id);
    cs.clear(tb);
    for (const r of rows) tb.appendChild(cs.row(cells(r), open ? () => { window.location.href = cs.caseUrl(r.id); } : null));
  }
  async function removeService(sid) {
    const res = await cs.call("/api/cases/lists/" + pick.value + "/services/" + sid, { method: "DELETE" });
    if (!res.ok) cs.show("cs-error", cs.message(res));
    load();
  }
  function render(d) {
    fill("cs-open", d.problems.open, (r) => [r.case_no || "#" + r.id, r.category_name, r.state_label, r.address, cs.time(r.due_at)], true);
    document.getElementById("cs-open-n").textContent = String(d.problems.open.length);
    fill("cs-recurrent", d.problems.recurrent, (r) => [r.category_name, r.grid_code, r.cases, r.open_cases]);
    fill("cs-facilities", d.services.facilities, (r) => [r.type_name, r.name, r.distance_m]);
    fill("cs-own", d.services.own, (r) => {
      let del = "";
      if (d.may_edit) { del = gm.el("button", { type: "button", class: "gm-btn secondary" }, gm.t("cases.delete"));
        del.addEventListener("click", (e) => { e.stopPropagation(); removeService(r.id); }); }
      return [r.name, r.kind, r.provider, r.contact, r.hours, del];
    });
    svcForm.hidden = !d.may_edit;
    fill("cs-solved-body", d.solved, (r) => [r.case_no || "#" + r.id, r.category_name, cs.time(r.closed_at), r.outcome, r.satisfaction_score], true);
    document.getElementById("cs-solved-n").textContent = String(d.solved.length);
  }
  async function load() {
    if (!pick.value) return;
    const u = new URL(window.location.href);
    u.searchParams.set("community", pick.value);
    window.history.replaceState(null, "", u.pathname + u.search);
    cs.show("cs-error", "");
    const res = await cs.call("/api/cases/lists/" + encodeURIComponent(pick.value));
    if (!res.ok) { cs.show("cs-error", cs.message(res)); return; }
    render(res.body);
  }
  svcForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {};
    for (const k of ["name", "kind", "provider", "contact", "hours"]) body[k] = svcForm.elements[k].value || null;
    const res = await cs.call("/api/cases/lists/" + pick.value + "/services", { json: body });
    if (!res.ok) { cs.show("cs-error", cs.message(res)); return; }
    svcForm.reset();
    load();
  });
  document.getElementById("cs-export").addEventListener("click", () => {
    window.location.href = "/api/cases/lists/" + encodeURIComponent(pick.value) + "/export?lang=" + (document.documentElement.lang === "en" ? "en" : "zh");
  });
  pick.addEventListener("change", load);
  const wanted = new URLSearchParams(window.location.search).get("community");
  if (wanted && [...pick.options].some((o) => o.value === wanted)) pick.value = wanted;
  load();
})();
