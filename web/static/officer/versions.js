/* Officer page: the version list (草稿/待生效/现行/历史 with dates), diff against the plan
 * in force (changed grids on the map and in a table), revert, discard, and the activation
 * confirmation (impact summary; a warning for a draft identical to the plan in force).
 * window.GM_OFF_VERSIONS(ctx) with ctx = {call, openVersion, reload, status, state, map}.
 * Data strings reach the DOM as text only (gm.el). */
(function () {
  "use strict";
  const gm = window.gm || {};
  const t = (k) => (gm.t ? gm.t(k) : k);
  const $ = (id) => document.getElementById(id);
  const fill = (s, vals) => Object.keys(vals).reduce((a, k) => a.replace("{" + k + "}", vals[k]), s);

  function fmtDate(v) {
    if (!v) return "";
    const d = new Date(v);
    if (isNaN(d)) return String(v);
    // the date in Beijing time, as the effective dates are entered
    return new Date(d.getTime() + 8 * 36e5).toISOString().slice(0, 10);
  }

  /** A modal question in the page's <dialog>; resolves true on OK. */
  function ask(opts) {
    const dlg = $("off-confirm");
    $("off-confirm-title").textContent = opts.title;
    const warn = $("off-confirm-warning");
    warn.hidden = !opts.warning;
    warn.textContent = opts.warning || "";
    const dl = $("off-confirm-summary");
    dl.replaceChildren();
    for (const [k, v] of opts.rows || []) {
      dl.appendChild(gm.el("dt", {}, k));
      dl.appendChild(gm.el("dd", {}, v));
    }
    $("off-confirm-note").textContent = opts.note || "";
    $("off-confirm-ok").textContent = opts.ok;
    dlg.dataset.kind = opts.warning ? "warning" : "normal";
    return new Promise((resolve) => {
      const done = (v) => {
        $("off-confirm-ok").onclick = null; $("off-confirm-cancel").onclick = null;
        dlg.onclose = null;
        if (dlg.open) dlg.close();
        resolve(v);
      };
      $("off-confirm-ok").onclick = () => done(true);
      $("off-confirm-cancel").onclick = () => done(false);
      dlg.onclose = () => done(false);  // Esc
      dlg.showModal();
    });
  }

  window.GM_OFF_VERSIONS = function (ctx) {
    let diffLayer = null;
    let current = null;  // the version in force today (phase "current")

    function clearDiff() {
      if (diffLayer) { diffLayer.remove(); diffLayer = null; }
      $("off-diff-box").replaceChildren();
    }

    function render(data) {
      const list = $("off-versions");
      list.replaceChildren();
      current = (data.versions.find((v) => v.phase === "current") || {}).id || null;
      for (const v of data.versions) {
        const li = gm.el("li", { "data-version": v.id, "data-phase": v.phase,
                                 class: v.id === ctx.state.version ? "active" : "" });
        const head = gm.el("div", { class: "off-vhead" });
        head.appendChild(gm.el("span", {}, `#${v.generation} `));
        head.appendChild(gm.el("span", { class: `off-badge off-phase-${v.phase}` }, t("off.phase." + v.phase)));
        head.appendChild(gm.el("span", {}, ` ${v.grids} ${t("off.grids")}`));
        li.appendChild(head);
        const dates = v.status === "draft"
          ? `${t("off.created")} ${fmtDate(v.created_at)}`
          : `${t("off.from")} ${fmtDate(v.valid_from)}` + (v.valid_to ? ` · ${t("off.to")} ${fmtDate(v.valid_to)}` : "");
        li.appendChild(gm.el("div", { class: "off-vdates" }, dates));
        const row = gm.el("div", { class: "off-vbtns" });
        const btn = (label, cls, fn) => {
          const b = gm.el("button", { type: "button", class: "gm-btn secondary " + cls }, label);
          b.addEventListener("click", fn);
          row.appendChild(b);
        };
        btn(t("off.open"), "off-open", () => ctx.openVersion(v.id));
        if (current && v.id !== current && v.phase !== "historic") btn(t("off.diff"), "off-diff", () => diff(v));
        if (v.phase === "draft") btn(t("off.discard"), "off-discard", () => discard(v));
        if (v.phase === "historic") btn(t("off.revert"), "off-revert", () => revert(v));
        if (v.status === "scheduled") btn(t("off.unschedule"), "off-unschedule", () => unschedule(v));
        li.appendChild(row);
        list.appendChild(li);
      }
    }

    async function diff(v) {
      const res = await ctx.call(`/api/grids/diff?old=${current}&new=${v.id}`);
      const [a, b] = await Promise.all([ctx.call(`/api/grids/versions/${current}`), ctx.call(`/api/grids/versions/${v.id}`)]);
      clearDiff();
      const box = $("off-diff-box");
      box.appendChild(gm.el("h4", {}, `${t("off.diff_title")} · #${v.generation}`));
      const table = gm.el("table", { class: "off-table", id: "off-diff-table" });
      const head = gm.el("tr");
      for (const h of [t("off.grids"), t("off.change"), t("off.area")]) head.appendChild(gm.el("th", {}, h));
      table.appendChild(head);
      const geoms = {};
      for (const [kind, items] of [["added", res.added], ["removed", res.removed], ["changed", res.changed]]) {
        for (const g of items) {
          const tr = gm.el("tr", { "data-grid": g.grid_id, class: "off-diff-" + kind });
          tr.appendChild(gm.el("td", {}, g.grid_code));
          tr.appendChild(gm.el("td", {}, t("off.change." + kind)));
          tr.appendChild(gm.el("td", {}, `${Math.round(g.area_before_m2)} → ${Math.round(g.area_after_m2)}`));
          table.appendChild(tr);
          const src = kind === "removed" ? a.grids : b.grids;
          const f = src.features.find((x) => x.id === g.grid_id);
          if (f) geoms[g.grid_id] = f;
        }
      }
      const n = res.added.length + res.removed.length + res.changed.length;
      if (!n && !res.moves.length) box.appendChild(gm.el("p", { class: "off-hint" }, t("off.no_changes")));
      box.appendChild(table);
      box.appendChild(gm.el("p", {}, `${t("off.moves")}: ${res.moves.length}`));
      box.appendChild(gm.el("button", { type: "button", class: "gm-btn secondary", "data-export": "off-diff-table" }, t("off.export_csv")));
      diffLayer = L.geoJSON({ type: "FeatureCollection", features: Object.values(geoms) }, {
        style: () => ({ color: "#ff7f00", weight: 5, dashArray: "8 6", fill: true, fillOpacity: 0.12, className: "off-diff-grid" }),
        interactive: false,
      }).addTo(ctx.map());
      box.dataset.changed = String(n);
    }

    async function discard(v) {
      const ok = await ask({ title: t("off.discard"), ok: t("off.discard"), note: fill(t("off.discard_confirm"), { g: v.generation }) });
      if (!ok) return;
      await ctx.call(`/api/grids/versions/${v.id}/discard`, { json: {} });
      clearDiff();
      if (ctx.state.version === v.id) ctx.state.version = null;
      await ctx.reload();
      ctx.status(t("off.discarded"), "ok");
    }

    async function unschedule(v) {
      const ok = await ask({ title: t("off.unschedule"), ok: t("off.unschedule"), note: fill(t("off.unschedule_confirm"), { g: v.generation }) });
      if (!ok) return;
      await ctx.call(`/api/grids/versions/${v.id}/unschedule`, { json: {} });
      clearDiff();
      await ctx.reload(v.id);
      ctx.status(t("off.unscheduled"), "ok");
    }

    async function revert(v) {
      const eff = $("off-effective").value || null;
      const ok = await ask({ title: t("off.revert"), ok: t("off.revert"), note: fill(t("off.revert_confirm"), { g: v.generation }),
                             rows: [[t("off.sum_date"), eff || t("off.today")]] });
      if (!ok) return;
      const out = await ctx.call(`/api/grids/versions/${v.id}/revert`, { json: eff ? { effective: eff } : {} });
      await ctx.reload(out.version.id);
      ctx.status(t("off.reverted"), "ok");
    }

    /** The activation dialog: what changes; resolves true when the officer confirms. */
    async function confirmActivation() {
      const res = await ctx.call(`/api/grids/versions/${ctx.state.version}/impact`);
      const households = res.moves.reduce((s, m) => s + (m.households || 0), 0);
      const cases = res.grids.reduce((s, g) => s + Math.max(0, ((g.after || {}).open_incidents || 0) - ((g.before || {}).open_incidents || 0)), 0);
      const unchanged = !res.moves.length && !res.grids.length;
      const eff = $("off-effective").value;
      const future = eff && new Date(eff + "T00:00:00+08:00") > new Date();
      return ask({
        title: t("off.confirm_title"),
        ok: unchanged ? t("off.confirm_anyway") : t("off.confirm_ok"),
        warning: unchanged ? t("off.unchanged_warning") : "",
        rows: [[t("off.sum_units"), String(res.moves.length)], [t("off.sum_households"), String(households)],
               [t("off.sum_grids"), String(res.grids.length)], [t("off.sum_cases"), String(cases)],
               [t("off.sum_date"), eff || t("off.today")]],
        note: future ? fill(t("off.future_note"), { d: eff }) : "",
      });
    }

    return { render, clearDiff, confirmActivation, fmtDate };
  };
})();
