/* Star ratings page (#17 §1): one committee's criteria (value, source, who entered what and
 * why), the rater's forms (enter a value with evidence; confirm, optionally other stars with a
 * note) and, for a confirmed rating, the frozen cases behind each value (/api/ratings/audit).
 * Everything from data is set as text. */
(function () {
  "use strict";
  const gm = window.gm;
  const $ = (id) => document.getElementById(id);
  const fmt = (tpl, vals) => Object.entries(vals).reduce((s, [k, v]) => s.split("{" + k + "}").join(String(v)), tpl);
  const schemes = {};
  const st = { row: null, p: null };

  async function scheme(year) {
    if (!schemes[year]) schemes[year] = await gm.api("/api/ratings/scheme?year=" + encodeURIComponent(year));
    return schemes[year];
  }
  const name = (c) => (document.documentElement.lang.startsWith("zh") ? c.name_zh : c.name_en);
  function valueText(rec, kind) {
    if (!rec) return "–";
    if (kind === "condition") return rec.passed === null || rec.passed === undefined ? "–" : gm.t(rec.passed ? "rt.met" : "rt.not_met");
    return rec.value === null || rec.value === undefined ? "–" : String(rec.value);
  }
  function entryText(rec) {
    const e = rec && rec.entry;
    if (e) return fmt(gm.t("rt.entered_by"), { by: e.by, level: e.level, at: (e.at || "").slice(0, 16), evidence: e.evidence });
    if (rec && rec.gaps && rec.gaps.length) return fmt(gm.t("rt.gaps"), { types: rec.gaps.map((g) => g.type_name).join("、") });
    if (rec && rec.inputs) return Object.entries(rec.inputs).map(([k, v]) => k + " " + v).join(", ");
    return "";
  }
  function message(text, isError) {
    const m = $("rt-msg");
    m.hidden = !text; m.textContent = text || ""; m.classList.toggle("error", !!isError);
  }

  async function show(row, p) {
    st.row = row; st.p = p;
    const sch = await scheme(p.year);
    $("rt-detail").hidden = false;
    $("rt-detail-title").textContent = row.name + " · " + (row.stars ? row.stars + "★" : gm.t("rt.unrated"));
    const tb = $("rt-detail-table").querySelector("tbody");
    tb.replaceChildren();
    const crit = row.criteria || {};
    for (const c of sch.criteria) {
      const rec = crit[c.code];
      const tr = gm.el("tr");
      tr.append(gm.el("td", {}, name(c)), gm.el("td", {}, valueText(rec, c.kind)),
        gm.el("td", {}, gm.t("rt.source." + c.source)), gm.el("td", {}, entryText(rec)));
      tb.appendChild(tr);
    }
    const sel = $("rt-enter-criterion");
    if (sel) {
      sel.replaceChildren();
      for (const c of sch.criteria.filter((x) => x.source === "entered")) {
        const o = gm.el("option", { value: c.code, "data-kind": c.kind }, name(c)); sel.appendChild(o);
      }
      const frozen = row.status === "confirmed";
      $("rt-enter-form").hidden = frozen;
      $("rt-confirm-form").hidden = frozen || !row.status;
    }
    $("rt-audit").hidden = row.status !== "confirmed";
    $("rt-audit-box").replaceChildren();
  }

  async function post(url, body) {
    try {
      await gm.api(url, { json: body });
      message(gm.t("rt.saved"));
      await gm.ratingsReload();
    } catch (e) { message(fmt(gm.t("rt.error"), { e: e.message }), true); }
  }
  function base() { return { year: Number(st.p.year), round: st.p.round }; }

  const enterForm = $("rt-enter-form");
  if (enterForm) enterForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!st.row) return;
    post("/api/ratings/enter", Object.assign(base(), { committee: st.row.code, criterion: $("rt-enter-criterion").value,
      value: Number($("rt-enter-value").value), evidence: $("rt-enter-evidence").value }));
  });
  const confirmForm = $("rt-confirm-form");
  if (confirmForm) confirmForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!st.row) return;
    const body = Object.assign(base(), { committees: st.row.code });
    if ($("rt-confirm-stars").value) body.stars = Number($("rt-confirm-stars").value);
    if ($("rt-confirm-note").value) body.note = $("rt-confirm-note").value;
    post("/api/ratings/confirm", body);
  });
  $("rt-audit").addEventListener("click", async () => {
    if (!st.row || !st.row.rating_id) return;
    const box = $("rt-audit-box");
    box.replaceChildren();
    try {
      const [a, sch] = await Promise.all([gm.api("/api/ratings/audit?id=" + st.row.rating_id), scheme(st.p.year)]);
      box.appendChild(gm.el("p", { class: a.same ? "rt-ok" : "rt-miss" }, gm.t(a.same ? "rt.same" : "rt.differs")));
      const ul = gm.el("ul", { class: "rt-audit-list" });
      for (const c of sch.criteria) {
        const cases = a.cases[c.code];
        if (!cases) continue;
        const li = gm.el("li", {}, fmt(gm.t("rt.cases_of"), { name: name(c), n: cases.length }) + " ");
        li.appendChild(gm.el("span", {}, cases.slice(0, 50).map((x) => x.case_no || x.incident_id).join(", ") + (cases.length > 50 ? " …" : "")));
        ul.appendChild(li);
      }
      box.appendChild(ul);
    } catch (e) { message(fmt(gm.t("rt.error"), { e: e.message }), true); }
  });
  gm.ratingDetail = { show };
})();
