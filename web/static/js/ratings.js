/* Star ratings page (#17 §1): the star map (choropleth; popup built from DOM nodes), the
 * distribution against the target (ECharts + table), year-over-year change, the ranking,
 * XLSX and printable report links, and "compute drafts" for raters.
 * Data: /api/ratings/{map,table,distribution}. Every string from data goes in as text. */
(function () {
  "use strict";
  const gm = window.gm;
  const cfg = window.GM_RATINGS || {};
  const STAR_COLORS = { 1: "#d4380d", 2: "#fa8c16", 3: "#fadb14", 4: "#73d13d", 5: "#13c2c2" };
  const $ = (id) => document.getElementById(id);
  const st = { layer: null, legend: null, chart: null, fitted: false };
  const fmt = (tpl, vals) => Object.entries(vals).reduce((s, [k, v]) => s.split("{" + k + "}").join(String(v)), tpl);

  function params() {
    return { year: $("rt-year").value, round: $("rt-round").value, street: $("rt-street").value };
  }
  function query(p, withStreet) {
    const u = new URLSearchParams({ year: p.year, round: p.round });
    if (withStreet && p.street) u.set("street", p.street);
    return u.toString();
  }
  function message(text, isError) {
    const m = $("rt-msg");
    m.hidden = !text;
    m.textContent = text || "";
    m.classList.toggle("error", !!isError);
  }
  const starText = (n) => (n ? "★".repeat(n) + "☆".repeat(5 - n) : "–");
  const statusText = (s) => gm.t("rt.status." + (s || "none"));
  function changeNode(c) {
    if (c === null || c === undefined) return gm.el("span", {}, "–");
    if (c > 0) return gm.el("span", { class: "rt-up" }, "↑" + c);
    if (c < 0) return gm.el("span", { class: "rt-down" }, "↓" + -c);
    return gm.el("span", {}, "=");
  }
  function reasonList(reasons) {
    const ul = gm.el("ul", { class: "rt-reasons" });
    for (const r of reasons || []) ul.appendChild(gm.el("li", {}, r));
    return ul;
  }

  // ------------------------------------------------------------------ map
  function popup(p) {
    const box = gm.el("div", { class: "rt-popup" });
    box.appendChild(gm.el("strong", {}, p.name || p.code));
    const dl = gm.el("dl");
    const rows = [[gm.t("rt.street"), p.street], [gm.t("rt.stars"), starText(p.stars)],
      [gm.t("rt.score"), p.score === null ? "–" : p.score], [gm.t("rt.status"), statusText(p.status)],
      [gm.t("rt.prev"), p.prev_stars ? starText(p.prev_stars) : "–"]];
    for (const [k, v] of rows) { dl.appendChild(gm.el("dt", {}, k)); dl.appendChild(gm.el("dd", {}, v)); }
    box.appendChild(dl);
    box.appendChild(gm.el("div", {}, gm.t("rt.reasons")));
    box.appendChild(reasonList(p.reasons));
    return box;
  }
  function legend() {
    if (st.legend) return;
    const box = gm.el("div", { class: "rt-legend", id: "rt-legend" });
    box.appendChild(gm.el("strong", {}, gm.t("rt.legend")));
    for (const n of [5, 4, 3, 2, 1]) {
      const r = gm.el("div"); const i = gm.el("i"); i.style.background = STAR_COLORS[n];
      r.append(i, gm.el("span", {}, fmt(gm.t("rt.stars_n"), { n }))); box.appendChild(r);
    }
    const r = gm.el("div"); const i = gm.el("i"); i.style.background = "#ffffff";
    r.append(i, gm.el("span", {}, gm.t("rt.unrated"))); box.appendChild(r);
    const ctl = L.control({ position: "bottomright" });
    ctl.onAdd = () => box;
    st.legend = ctl.addTo(gm.map);
  }
  async function loadMap(p) {
    if (!gm.map) return;
    const fc = await gm.api(gm.withParams("/api/ratings/map", p));
    if (st.layer) st.layer.remove();
    st.layer = L.geoJSON(fc, {
      style: (f) => ({ color: "#555", weight: 1, fillOpacity: f.properties.stars ? 0.65 : 0.1,
        fillColor: STAR_COLORS[f.properties.stars] || "#ffffff" }),
      onEachFeature: (f, layer) => {
        layer.bindPopup(() => popup(f.properties));
        layer.bindTooltip(gm.el("span", {}, (f.properties.name || f.properties.code) + " " + starText(f.properties.stars)), { sticky: true });
        layer.feature_code = f.properties.code;
      },
    }).addTo(gm.map);
    legend();
    if (fc.features.length && (!st.fitted || p.street)) { gm.map.fitBounds(st.layer.getBounds(), { animate: false }); st.fitted = true; }
  }
  function openOnMap(code) {
    if (!st.layer) return;
    st.layer.eachLayer((l) => { if (l.feature_code === code) { gm.map.fitBounds(l.getBounds(), { animate: false, maxZoom: 16 }); l.openPopup(); } });
  }

  // ------------------------------------------------------------------ ranking, change
  async function loadTable(p) {
    const body = await gm.api("/api/ratings/table?" + query(p, true));
    const tb = $("rt-rank-table").querySelector("tbody");
    tb.replaceChildren();
    let up = 0, down = 0, same = 0;
    for (const r of body.items) {
      const tr = gm.el("tr", { "data-code": r.code });
      tr.append(gm.el("td", {}, r.rank === null ? "–" : r.rank), gm.el("td", {}, r.name),
        gm.el("td", {}, r.street_name), gm.el("td", { class: "rt-stars" }, starText(r.stars)),
        gm.el("td", {}, r.score === null ? "–" : r.score), gm.el("td", {}, statusText(r.status)),
        gm.el("td", { class: "rt-stars" }, r.prev_stars ? starText(r.prev_stars) : "–"));
      const ch = gm.el("td"); ch.appendChild(changeNode(r.change)); tr.appendChild(ch);
      const rs = gm.el("td"); rs.appendChild(reasonList(r.reasons)); tr.appendChild(rs);
      tr.addEventListener("click", () => { openOnMap(r.code); if (gm.ratingDetail) gm.ratingDetail.show(r, p); });
      tb.appendChild(tr);
      if (r.change > 0) up++; else if (r.change < 0) down++; else if (r.change === 0) same++;
    }
    if (!body.items.some((r) => r.stars)) { const tr = gm.el("tr"); tr.appendChild(gm.el("td", { colspan: "9" }, gm.t("rt.none"))); tb.appendChild(tr); }
    $("rt-yoy").textContent = fmt(gm.t("rt.yoy"), { up, down, same });
  }

  // ------------------------------------------------------------------ distribution
  const BANDS = ["five", "three_four", "two", "one"];
  function distTable(d, streetFilter) {
    const t = $("rt-dist-table");
    const head = gm.el("tr");
    head.appendChild(gm.el("th", {}, gm.t("rt.street")));
    for (const n of [5, 4, 3, 2, 1]) head.appendChild(gm.el("th", {}, fmt(gm.t("rt.stars_n"), { n })));
    for (const b of BANDS) head.appendChild(gm.el("th", {}, fmt(gm.t("rt.band." + b), { t: Math.round(d.district.bands[b].target * 100) + "%" })));
    t.querySelector("thead").replaceChildren(head);
    const tb = t.querySelector("tbody");
    tb.replaceChildren();
    const rows = [[gm.t("rt.district"), d.district, ""]].concat(d.streets.map((s) => [s.name, s, s.code]));
    for (const [name, x, code] of rows) {
      if (streetFilter && code && code !== streetFilter) continue;
      const tr = gm.el("tr");
      tr.appendChild(gm.el("td", {}, name));
      for (const n of [5, 4, 3, 2, 1]) tr.appendChild(gm.el("td", {}, x.counts[n]));
      for (const b of BANDS) {
        const band = x.bands[b];
        const td = gm.el("td", { class: band.meets ? "rt-ok" : "rt-miss", title: gm.t(band.meets ? "rt.meets" : "rt.misses") },
          (band.share * 100).toFixed(1) + "% " + (band.meets ? "✓" : "✗"));
        tr.appendChild(td);
      }
      tb.appendChild(tr);
    }
  }
  function distChart(d) {
    if (!gm.charts || !window.echarts) return;
    const cats = [gm.t("rt.district")].concat(d.streets.map((s) => s.name));
    const all = [d.district].concat(d.streets);
    const series = [5, 4, 3, 2, 1].map((n) => ({
      name: fmt(gm.t("rt.stars_n"), { n }), type: "bar", stack: "s", barMaxWidth: 36,
      itemStyle: { color: STAR_COLORS[n] },
      data: all.map((x) => (x.total ? +(100 * x.counts[n] / x.total).toFixed(1) : 0)),
    }));
    series[0].markLine = { symbol: "none", silent: true, lineStyle: { color: "#13c2c2", type: "dashed" },
      label: { formatter: gm.t("rt.target_line") + " 5★ " + Math.round(100 * d.target.five) + "%" },
      data: [{ yAxis: 100 * d.target.five }] };
    series[2].markLine = { symbol: "none", silent: true, lineStyle: { color: "#73d13d", type: "dashed" },
      label: { formatter: gm.t("rt.target_line") + " 3–5★ " + Math.round(100 * (d.target.five + d.target.three_four)) + "%" },
      data: [{ yAxis: 100 * (d.target.five + d.target.three_four) }] };
    const option = { tooltip: { trigger: "axis", renderMode: "richText" }, legend: { top: 0 },
      grid: { left: 40, right: 10, top: 30, bottom: 40 },
      xAxis: { type: "category", data: cats, axisLabel: { interval: 0, rotate: cats.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }, series };
    if (st.chart) st.chart.setOption(option, true); else st.chart = gm.charts.init($("rt-chart"), option, { theme: "light" });
  }
  async function loadDist(p) {
    const d = await gm.api("/api/ratings/distribution?" + query(p, false));
    distTable(d, p.street);
    distChart(d);
  }

  // ------------------------------------------------------------------ links, actions
  function links(p) {
    $("rt-xlsx").setAttribute("href", "/api/ratings/export.xlsx?" + query(p, true));
    const rep = $("rt-report");
    if (p.street) { rep.setAttribute("href", "/ratings/report?" + query(p, true)); rep.removeAttribute("aria-disabled"); rep.title = ""; }
    else { rep.setAttribute("href", "#"); rep.setAttribute("aria-disabled", "true"); rep.title = gm.t("rt.report_pick"); }
  }
  async function load() {
    const p = params();
    const root = $("rt");
    root.dataset.state = "loading";
    links(p);
    history.replaceState(null, "", "/ratings?" + query(p, true) + window.location.hash);
    try {
      await Promise.all([loadTable(p), loadDist(p), loadMap(p)]);
      root.dataset.state = "ready";
    } catch (e) {
      message(fmt(gm.t("rt.error"), { e: e.message }), true);
      root.dataset.state = "error";
    }
  }
  async function compute() {
    const p = params();
    message(gm.t("rt.computing"));
    try {
      const body = { year: Number(p.year), round: p.round };
      if (p.street) body.street = p.street;
      const res = await gm.api("/api/ratings/compute", { json: body });
      message(fmt(gm.t("rt.computed"), { n: res.items.length }));
      await load();
    } catch (e) { message(fmt(gm.t("rt.error"), { e: e.message }), true); }
  }

  gm.ratingsReload = load;
  $("rt-form").addEventListener("submit", (ev) => { ev.preventDefault(); message(""); load(); });
  for (const id of ["rt-year", "rt-round", "rt-street"]) $(id).addEventListener("change", () => { message(""); load(); });
  if ($("rt-compute")) $("rt-compute").addEventListener("click", compute);
  load();
})();
