/* District dashboard (一屏观天下): KPIs, ECharts trend lines and rankings, urgent cases,
 * drill-down with breadcrumb, auto-refresh paused while the page is hidden.
 * Data: /api/dashboard/summary?area=CODE; map layers in dashboard-map.js (gm.dashMap).
 * Every string from data reaches the DOM through textContent (gm.el) or the chart canvas. */
(function () {
  "use strict";
  const gm = window.gm;
  const cfg = window.GM_DASHBOARD || {};
  const $ = (id) => document.getElementById(id);
  const fmt = (key, params) => gm.t(key).replace(/\{(\w+)\}/g, (_, k) => (params && params[k] !== undefined ? params[k] : ""));
  const rate = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(1) + "%");
  const state = { area: cfg.area || "", data: null, trend: "daily", metric: "open",
    interval: Number(cfg.refresh) || 0, timer: null, loading: false };
  const charts = {
    trend: gm.charts.init("chart-trend", null, { theme: "dark" }),
    rates: gm.charts.init("chart-rates", null, { theme: "dark" }),
    children: gm.charts.init("chart-children", null, { theme: "dark" }),
    units: gm.charts.init("chart-units", null, { theme: "dark" }),
  };

  function setKpi(key, value, text, sub) {
    const el = $("kpi-" + key);
    el.textContent = text;
    el.dataset.value = value === null || value === undefined ? "" : String(value);
    $("kpi-" + key + "-sub").textContent = sub || "";
  }

  function renderKpis(k, days) {
    setKpi("open", k.open, gm.fmt(k.open), fmt("dash.kpi.urgent", { n: gm.fmt(k.open_urgent) }));
    setKpi("overdue", k.overdue, gm.fmt(k.overdue),
      fmt("dash.kpi.overdue_sub", { p: k.open ? (100 * k.overdue / k.open).toFixed(1) + "%" : "–" }));
    setKpi("close_rate", k.close_rate, rate(k.close_rate), fmt("dash.kpi.due", { n: gm.fmt(k.due), c: gm.fmt(k.closed) }));
    setKpi("on_time_rate", k.on_time_rate, rate(k.on_time_rate),
      fmt("dash.kpi.reported", { n: days }) + " " + gm.fmt(k.reported));
    setKpi("grid_rate", k.grid_rate, rate(k.grid_rate), fmt("dash.kpi.grid_sub", { n: gm.fmt(k.closed_any), g: gm.fmt(k.closed_grid) }));
    setKpi("satisfaction_rate", k.satisfaction_rate, rate(k.satisfaction_rate),
      fmt("dash.kpi.sat_sub", { n: gm.fmt(k.rated), m: k.mean_satisfaction === null ? "–" : k.mean_satisfaction.toFixed(2) }));
  }

  function renderCrumbs(area) {
    const nav = $("dash-crumbs");
    nav.replaceChildren();
    area.trail.forEach((t, i) => {
      const label = t.level === "district" ? gm.t("dash.district") : t.name || t.code;
      if (i) nav.appendChild(gm.el("span", { class: "sep" }, "›"));
      if (i === area.trail.length - 1) nav.appendChild(gm.el("span", { class: "current" }, label));
      else nav.appendChild(gm.el("button", { type: "button", "data-area": t.code || "", onclick: () => drill(t.code || "") }, label));
    });
    $("dash-area-name").textContent = area.level === "district" ? "" : "· " + (area.name || area.code);
  }

  function renderTrends(tr) {
    const s = tr[state.trend];
    const line = (name, data, color) => ({ name, type: "line", smooth: 0.2, showSymbol: false, data, lineStyle: { width: 2 }, color });
    charts.trend.setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 40, right: 12, top: 28, bottom: 22 },
      xAxis: { type: "category", data: s.dates.map((d) => d.slice(5)) }, yAxis: { type: "value", minInterval: 1 },
      series: [line(gm.t("dash.s.reported"), s.reported, "#3ba7ff"), line(gm.t("dash.s.closed"), s.closed, "#35d0a5"),
        line(gm.t("dash.s.closed_on_time"), s.closed_on_time, "#ffc53d")],
    }, true);
    const share = s.closed.map((c, i) => (c ? +(100 * s.closed_on_time[i] / c).toFixed(1) : null));
    charts.rates.setOption({
      tooltip: { trigger: "axis" }, grid: { left: 40, right: 12, top: 12, bottom: 22 },
      xAxis: { type: "category", data: s.dates.map((d) => d.slice(5)) },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [{ name: gm.t("dash.s.closed_on_time"), type: "bar", data: share, itemStyle: { color: "#35d0a5" }, barMaxWidth: 14 }],
    }, true);
  }

  function bars(chart, rows, metric, clickable) {
    if (!rows.length) {
      chart.setOption({ title: { text: gm.t("dash.none"), left: "center", top: "middle", textStyle: { color: "#8aa3c4", fontSize: 13, fontWeight: "normal" } },
        xAxis: { show: false }, yAxis: { show: false }, series: [] }, true);
      return;
    }
    const top = rows.slice().sort((a, b) => (b[metric] ?? -1) - (a[metric] ?? -1)).slice(0, 15).reverse();
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } }, grid: { left: 8, right: 40, top: 6, bottom: 6, containLabel: true },
      xAxis: { type: "value", max: metric.endsWith("_rate") ? 100 : null, minInterval: metric.endsWith("_rate") ? 0 : 1, splitNumber: 3 },
      yAxis: { type: "category", data: top.map((r) => r.name || r.code), axisLabel: { width: 110, overflow: "truncate" } },
      series: [{ type: "bar", data: top.map((r) => ({ value: r[metric], code: r.code })), barMaxWidth: 16,
        label: { show: true, position: "right", color: "#d6e4f7", formatter: (p) => (metric.endsWith("_rate") ? rate(p.value) : gm.fmt(p.value)) },
        itemStyle: { color: metric === "overdue" ? "#ff7a45" : "#3ba7ff" }, cursor: clickable ? "pointer" : "default" }],
    }, true);
  }

  function renderRankings(d) {
    const lvl = d.area.child_level;
    $("dash-rank-title").textContent = lvl ? gm.t("dash.rank." + lvl) : gm.t("dash.rank");
    bars(charts.children, d.children, state.metric, !!lvl);
    bars(charts.units, d.units, state.metric, false);
  }

  function renderUrgent(list) {
    const ol = $("dash-urgent");
    ol.replaceChildren();
    if (!list.length) { ol.appendChild(gm.el("li", { class: "empty" }, gm.t("dash.none"))); return; }
    const lang = document.documentElement.lang;
    for (const c of list) {
      const li = gm.el("li", { "data-id": String(c.id) });
      li.appendChild(gm.el("span", { class: "dash-badge " + c.urgency }, gm.t("dash.urgency." + c.urgency)));
      const a = gm.el("a", { href: "/cases/" + c.id }, c.case_no || "#" + c.id);
      li.appendChild(a);
      li.appendChild(gm.el("span", { class: "cat" }, [(lang.startsWith("en") ? c.category_en : c.category_zh) || c.category_code, c.community].filter(Boolean).join(" · ")));
      li.appendChild(gm.el("time", {}, c.reported_at ? new Date(c.reported_at).toLocaleString(lang, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) : ""));
      li.appendChild(c.overdue ? gm.el("span", { class: "dash-badge overdue" }, gm.t("dash.overdue")) : gm.el("span", {}, gm.t("state." + c.state) !== "state." + c.state ? gm.t("state." + c.state) : c.state));
      ol.appendChild(li);
    }
  }

  function render(d) {
    state.data = d;
    renderCrumbs(d.area);
    renderKpis(d.kpis, d.period_days);
    renderTrends(d.trends);
    renderRankings(d);
    renderUrgent(d.urgent);
    $("dash-period").textContent = fmt("dash.period", { n: d.period_days });
    $("dash-asof").textContent = new Date(d.as_of).toLocaleString(document.documentElement.lang);
    $("dash-asof").setAttribute("datetime", d.as_of);
    $("dash").dataset.state = "ready";
    if (!performance.getEntriesByName("dash-ready").length) performance.mark("dash-ready");  // bench_dashboard
    $("dash").dataset.area = d.area.code || "";
  }

  /** The response started by the page head (GM_DASH_PREFETCH), used once, for the first paint. */
  async function prefetched(name) {
    const pre = window.GM_DASH_PREFETCH;
    if (!pre || !pre[name] || pre.area !== state.area || gm.display !== "wgs84") return null;
    const r = await pre[name];
    pre[name] = null;
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) throw new Error((body && body.error) || r.status + " " + r.statusText);
    return body;
  }
  gm.dashPrefetched = prefetched;

  async function load(withMap) {
    if (state.loading) return;
    state.loading = true;
    $("dash").dataset.state = "loading";
    try {
      const map = withMap && gm.dashMap ? gm.dashMap.show({ code: state.area }) : null;  // in parallel
      const d = (await prefetched("summary")) || await gm.api(gm.withParams("/api/dashboard/summary", { area: state.area }));
      $("dash-error").hidden = true;
      render(d);
      if (map) await map;
    } catch (e) {
      $("dash-error").textContent = fmt("dash.error", { e: e.message });
      $("dash-error").hidden = false;
      $("dash").dataset.state = "error";
    } finally {
      state.loading = false;
    }
  }

  function drill(code) {
    state.area = code || "";
    const u = new URL(window.location.href);
    if (state.area) u.searchParams.set("area", state.area); else u.searchParams.delete("area");
    window.history.pushState({ area: state.area }, "", u.pathname + u.search + u.hash);
    load(true);
  }
  gm.dashDrill = drill;

  // --- auto-refresh: every `interval` seconds while visible ---------------------------
  function schedule() {
    clearTimeout(state.timer);
    state.timer = null;
    if (!state.interval || document.hidden) return;
    state.timer = setTimeout(() => { load(false).then(() => gm.dashMap && gm.dashMap.refresh()).finally(schedule); }, state.interval * 1000);
  }
  document.addEventListener("visibilitychange", () => {
    $("dash-paused").hidden = !document.hidden || !state.interval;
    if (!document.hidden) load(false).finally(schedule); else schedule();
  });
  const sel = $("dash-refresh");
  if (![...sel.options].some((o) => o.value === String(state.interval))) sel.appendChild(gm.el("option", { value: String(state.interval) }, state.interval + "s"));
  sel.value = String(state.interval);
  sel.addEventListener("change", () => { state.interval = Number(sel.value); schedule(); });
  $("dash-reload").addEventListener("click", () => load(false).then(() => gm.dashMap && gm.dashMap.refresh()));

  document.querySelectorAll("[data-trend]").forEach((b) => b.addEventListener("click", () => {
    state.trend = b.dataset.trend;
    document.querySelectorAll("[data-trend]").forEach((x) => x.classList.toggle("active", x === b));
    if (state.data) renderTrends(state.data.trends);
  }));
  $("dash-metric").addEventListener("change", (e) => { state.metric = e.target.value; if (state.data) renderRankings(state.data); });
  charts.children.on("click", (p) => { if (state.data && state.data.area.child_level && p.data && p.data.code) drill(p.data.code); });
  window.addEventListener("popstate", () => { state.area = new URL(window.location.href).searchParams.get("area") || ""; load(true); });
  if (gm.dashMap) gm.dashMap.onSelect(drill);

  load(true).finally(schedule);
})();
