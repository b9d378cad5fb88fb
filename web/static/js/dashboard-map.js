/* Dashboard map: the areas one level down (click to drill down) over the basemap, with one
 * switchable layer — case heat (leaflet.heat), 星级 (stars) or life-circle coverage.
 * Data: /api/dashboard/areas?area=CODE and /api/dashboard/heat?area=&bbox=&zoom=.
 * Names reach the map as DOM text (tooltips are elements built with textContent). */
(function () {
  "use strict";
  const gm = window.gm;
  if (!gm || !gm.map) return;
  const map = gm.map;
  const STAR_COLORS = { 1: "#d4380d", 2: "#fa8c16", 3: "#fadb14", 4: "#73d13d", 5: "#13c2c2" };
  const COVER = [[0.9, "#13c2c2"], [0.75, "#73d13d"], [0.6, "#fadb14"], [0.4, "#fa8c16"], [0, "#d4380d"]];
  const st = { area: null, layer: "heat", shapes: null, outline: null, heat: null, legend: null, select: () => {}, fitted: false };

  const coverColor = (v) => (v === null || v === undefined ? null : COVER.find(([b]) => v >= b)[1]);
  function fill(p) {
    if (st.layer === "stars") return p.stars ? STAR_COLORS[Math.min(5, Math.max(1, Math.round(p.stars)))] : null;
    if (st.layer === "coverage") return coverColor(p.coverage);
    return null;
  }
  function style(f) {
    const c = fill(f.properties);
    return { color: "#5ad8f5", weight: 1.5, opacity: 0.9, fillColor: c || "#3ba7ff", fillOpacity: c ? 0.55 : 0.04 };
  }

  function legend() {
    if (st.legend) { st.legend.remove(); st.legend = null; }
    const feats = (st.shapes && st.shapes.features) || [];
    const box = gm.el("div", { class: "dash-legend", id: "dash-legend", "data-layer": st.layer });
    if (st.layer === "heat") box.appendChild(gm.el("span", {}, gm.t("dash.layer.heat")));
    else if (st.layer === "stars") {
      if (st.shapes && st.shapes.level === "grid") box.appendChild(gm.el("span", {}, gm.t("dash.stars_by_community")));
      else if (!feats.some((f) => f.properties.stars)) box.appendChild(gm.el("span", {}, gm.t("dash.no_stars")));
      else for (const n of [5, 4, 3, 2, 1]) { const r = gm.el("div"); const i = gm.el("i"); i.style.background = STAR_COLORS[n]; r.append(i, gm.el("span", {}, gm.t("dash.stars_n").replace("{n}", n))); box.appendChild(r); }
    } else if (!feats.some((f) => f.properties.coverage !== null && f.properties.coverage !== undefined)) {
      box.appendChild(gm.el("span", {}, gm.t("dash.no_coverage")));
    } else {
      for (const [b, c] of COVER) { const r = gm.el("div"); const i = gm.el("i"); i.style.background = c; r.append(i, gm.el("span", {}, "≥ " + Math.round(b * 100) + "%")); box.appendChild(r); }
    }
    const ctl = L.control({ position: "bottomright" });
    ctl.onAdd = () => box;
    st.legend = ctl.addTo(map);
  }

  function draw() {
    if (st.outline) st.outline.remove();
    st.outline = L.geoJSON(st.shapes, {
      style,
      onEachFeature: (f, layer) => {
        const p = f.properties;
        const tip = gm.el("span", {}, p.name || p.code);
        if (st.layer === "stars" && p.stars) tip.appendChild(document.createTextNode(" " + gm.t("dash.stars_n").replace("{n}", p.stars)));
        if (st.layer === "coverage" && p.coverage !== null && p.coverage !== undefined) tip.appendChild(document.createTextNode(" " + (100 * p.coverage).toFixed(0) + "%"));
        layer.bindTooltip(tip, { sticky: true });
        if (st.shapes.area.child_level) layer.on("click", () => st.select(p.code));
      },
    }).addTo(map);
    legend();
  }

  async function loadHeat() {
    const seq = (st.seq = (st.seq || 0) + 1);
    if (st.heat) { st.heat.remove(); st.heat = null; }
    if (st.layer !== "heat" || !L.heatLayer) return;
    const h = await gm.api(gm.withParams("/api/dashboard/heat", { area: st.area || "", bbox: gm.bbox(map), zoom: Math.round(map.getZoom()) }));
    if (seq !== st.seq) return;  // a newer request (pan, layer switch, refresh) wins
    if (st.heat) st.heat.remove();
    const pts = h.mode === "points" ? h.points.map(([x, y]) => [y, x, 1]) : h.cells.map((c) => [c.lat, c.lon, c.intensity]);
    st.heat = L.heatLayer(pts, { radius: 22, blur: 18, minOpacity: 0.3, max: 1,
      gradient: { 0.2: "#1d39c4", 0.45: "#13c2c2", 0.7: "#fadb14", 1: "#f5222d" } }).addTo(map);
    document.getElementById("dash-map-note").dataset.heat = String(h.total);
  }

  async function show(area) {
    st.area = area.code || "";
    st.shapes = (gm.dashPrefetched && await gm.dashPrefetched("areas").catch(() => null)) ||
      await gm.api(gm.withParams("/api/dashboard/areas", { area: st.area }));
    draw();
    const b = st.outline.getBounds();
    if (b.isValid() && !(gm.takeUrlView && !st.fitted && gm.takeUrlView())) map.fitBounds(b, { animate: false, padding: [12, 12] });
    st.fitted = true;
    if (!performance.getEntriesByName("dash-map-ready").length) performance.mark("dash-map-ready");
    await loadHeat();
    if (!performance.getEntriesByName("dash-heat-ready").length) performance.mark("dash-heat-ready");
  }

  document.querySelectorAll("[data-layer]").forEach((b) => b.addEventListener("click", () => {
    st.layer = b.dataset.layer;
    document.querySelectorAll("[data-layer]").forEach((x) => x.classList.toggle("active", x === b));
    if (st.shapes) draw();
    loadHeat().catch(() => {});
  }));
  map.on("moveend", () => { if (st.shapes && st.layer === "heat") loadHeat().catch(() => {}); });

  gm.dashMap = {
    show: (area) => show(area).catch(() => {}),
    refresh: () => (st.shapes ? loadHeat().catch(() => {}) : null),
    onSelect: (fn) => { st.select = fn; },
  };
})();
