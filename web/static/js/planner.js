/* Planner page: layers, coverage choropleth, gaps with zoom-to, what-if by click,
 * candidate sites, search. All data strings go through textContent (gm.el). */
(function () {
  "use strict";
  const map = gm.map, t = gm.t;
  const $ = (id) => document.getElementById(id);
  const typeSel = $("type"), levelSel = $("level"), minutesSel = $("minutes");
  const typeName = () => typeSel.options[typeSel.selectedIndex].textContent.trim();

  function shareColor(s) {
    if (s === null || s === undefined) return "#bdbdbd";
    if (s >= 0.95) return "#1a9850";
    if (s >= 0.8) return "#91cf60";
    if (s >= 0.5) return "#fc8d59";
    return "#d73027";
  }
  const legendItems = () => [
    [shareColor(1), "≥ 95%"], [shareColor(0.85), "80–95%"], [shareColor(0.6), "50–80%"],
    [shareColor(0.1), "< 50%"], [shareColor(null), t("planner.nodata")],
  ];

  map.createPane("gmPoints").style.zIndex = 620;  // points above the polygons (which refresh)
  const syn = (p) => (p && p.synthetic ? " (" + t("synthetic") + ")" : "");
  const communities = gm.bboxLayer(map, "/api/layers/communities", {
    minZoom: 11, style: () => ({ color: "#1d4e89", weight: 2, fill: false }),
    tooltip: (f) => f.properties.name + syn(f.properties),
  });
  const estates = gm.bboxLayer(map, "/api/layers/estates", {
    minZoom: 13, style: () => ({ color: "#6b4f9e", weight: 1, dashArray: "4 3", fillOpacity: 0.05 }),
    tooltip: (f) => f.properties.name + syn(f.properties),
  });
  const grids = gm.bboxLayer(map, "/api/layers/grids", {
    minZoom: 12, style: () => ({ color: "#e07b00", weight: 1.5, fill: false }),
    tooltip: (f) => (f.properties.name || f.properties.code) + " · " + f.properties.code + syn(f.properties),
  });
  const buildings = gm.vectorTiles("buildings", (p) => ({
    weight: 0.5, color: "#555", fill: true, fillColor: p.residential ? "#9ecae1" : "#d9d9d9", fillOpacity: 0.8,
  }), { minZoom: 13, interactive: false });
  const facilities = gm.bboxLayer(map, "/api/layers/facilities", {
    minZoom: 11, params: () => ({ type: typeSel.value }),
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 7, color: "#fff", weight: 2, fillColor: "#c2185b", fillOpacity: 1, bubblingMouseEvents: false, pane: "gmPoints" }),
    tooltip: (f) => (f.properties.name || "") + syn(f.properties),
    popup: (f) => gm.popup(f.properties.name || "#" + f.properties.id,
      [[t("planner.type"), document.documentElement.lang === "en" ? f.properties.type_name_en : f.properties.type_name_zh]],
      f.properties.synthetic),
  });
  const serviceAreas = gm.bboxLayer(map, "/api/planner/service_areas", {
    params: () => ({ type: typeSel.value, minutes: minutesSel.value }),
    style: () => ({ color: "#2b8cbe", weight: 1, fillColor: "#2b8cbe", fillOpacity: 0.15 }),
  });
  const coverageLayer = gm.bboxLayer(map, "/api/planner/coverage", {
    params: () => ({ type: typeSel.value, level: levelSel.value }),
    style: (f) => ({ color: "#333", weight: 1, fillColor: shareColor(f.properties.share), fillOpacity: 0.6 }),
    tooltip: (f) => f.properties.name + " · " + t("planner.share") + " " + gm.pct(f.properties.share) + " · " +
      t("planner.covered") + " " + gm.fmt(f.properties.residents_covered) + " / " + gm.fmt(f.properties.residents) + syn(f.properties),
  });
  const candidates = L.layerGroup();
  const whatif = L.layerGroup();

  coverageLayer.addTo(map); communities.addTo(map); facilities.addTo(map); whatif.addTo(map);
  candidates.addTo(map);
  const overlays = {};
  overlays[t("layer.coverage")] = coverageLayer;
  overlays[t("layer.communities")] = communities;
  overlays[t("layer.estates")] = estates;
  overlays[t("layer.buildings")] = buildings;
  overlays[t("layer.grids")] = grids;
  overlays[t("layer.facilities")] = facilities;
  overlays[t("layer.service_areas")] = serviceAreas;
  overlays[t("layer.candidates")] = candidates;
  overlays[t("layer.whatif")] = whatif;
  L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);
  const legend = gm.legend(map, t("planner.legend.coverage") + " · " + typeName(), legendItems());

  // ---- gaps
  async function loadGaps() {
    const tbody = $("gaps").querySelector("tbody");
    tbody.textContent = "";
    $("gaps-msg").textContent = "";
    try {
      const data = await gm.api(gm.withParams("/api/planner/gaps", { level: levelSel.value, type: typeSel.value, limit: 100 }));
      if (!data.gaps.length) $("gaps-msg").textContent = t("planner.gaps.none");
      for (const g of data.gaps) {
        const tr = gm.el("tr", { class: "gm-row-click" });
        tr.appendChild(gm.el("td", {}, g.unit_name));
        tr.appendChild(gm.el("td", {}, g.type_name));
        tr.appendChild(gm.el("td", { class: "num" }, gm.fmt(g.residents_affected)));
        const td = gm.el("td");
        td.appendChild(gm.el("button", { type: "button", class: "gm-btn secondary" }, t("planner.zoom")));
        tr.appendChild(td);
        tr.addEventListener("click", () => { if (g.bbox) map.fitBounds([[g.bbox[1], g.bbox[0]], [g.bbox[3], g.bbox[2]]]); });
        tbody.appendChild(tr);
      }
    } catch (e) {
      $("gaps-msg").textContent = t("planner.unavailable") + ": " + e.message;
    }
  }

  // ---- what-if
  const added = [];
  async function runWhatIf() {
    if (!added.length) { $("whatif-result").hidden = true; $("whatif-msg").textContent = ""; return; }
    $("whatif-msg").textContent = "…";
    try {
      const res = await gm.api("/api/planner/whatif", {
        json: { add: added.map((a) => ({ type: a.type, lon: a.lon, lat: a.lat })), crs: gm.display },
      });
      const row = res.types.find((x) => x.type_code === typeSel.value) || res.types[0];
      $("wi-before").textContent = gm.fmt(row.before.residents);
      $("wi-after").textContent = gm.fmt(row.after.residents);
      $("wi-delta").textContent = (row.delta.residents >= 0 ? "+" : "") + gm.fmt(row.delta.residents);
      $("whatif-result").hidden = false;
      $("whatif-msg").textContent = t("planner.whatif.result") + " · " + typeName();
    } catch (e) {
      $("whatif-result").hidden = true;
      $("whatif-msg").textContent = t("planner.unavailable") + ": " + e.message;
    }
  }
  map.on("click", (e) => {
    const p = { type: typeSel.value, lon: e.latlng.lng, lat: e.latlng.lat };
    added.push(p);
    L.circleMarker(e.latlng, { radius: 9, color: "#000", weight: 2, dashArray: "3 2", fillColor: "#ffeb3b", fillOpacity: 0.9, pane: "gmPoints" })
      .bindTooltip(gm.el("span", {}, t("layer.whatif") + " · " + typeName())).addTo(whatif);
    runWhatIf();
  });
  $("whatif-clear").addEventListener("click", () => { added.length = 0; whatif.clearLayers(); runWhatIf(); });

  // ---- candidates
  $("candidates-btn").addEventListener("click", async () => {
    const tbody = $("candidates").querySelector("tbody");
    tbody.textContent = "";
    candidates.clearLayers();
    try {
      const res = await gm.api(gm.withParams("/api/planner/candidates", { type: typeSel.value, k: 5 }));
      for (const c of res.candidates) {
        const tr = gm.el("tr", { class: "gm-row-click" });
        tr.appendChild(gm.el("td", {}, "#" + c.rank));
        tr.appendChild(gm.el("td", { class: "num" }, t("planner.gain") + " " + gm.fmt(c.residents_added)));
        tr.addEventListener("click", () => map.setView([c.lat, c.lon], Math.max(map.getZoom(), 16)));
        tbody.appendChild(tr);
        L.marker([c.lat, c.lon], { title: "#" + c.rank }).bindTooltip(gm.el("span", {}, "#" + c.rank + " +" + gm.fmt(c.residents_added))).addTo(candidates);
      }
      if (!res.candidates.length) tbody.appendChild(gm.el("tr")).appendChild(gm.el("td", {}, t("planner.gaps.none")));
    } catch (e) {
      tbody.appendChild(gm.el("tr")).appendChild(gm.el("td", {}, t("planner.unavailable") + ": " + e.message));
    }
  });

  // ---- search
  let searchTimer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const q = $("search").value.trim();
      const ul = $("search-results");
      ul.textContent = "";
      if (!q) return;
      try {
        const res = await gm.api(gm.withParams("/api/search", { q }));
        if (!res.results.length) ul.appendChild(gm.el("li", {}, t("planner.search.none")));
        for (const r of res.results) {
          const li = gm.el("li");
          const a = gm.el("a", { href: "#" }, r.name + " · " + t(r.kind === "estate" ? "planner.level.estate" : "planner.level.community"));
          a.addEventListener("click", (ev) => { ev.preventDefault(); map.fitBounds([[r.bbox[1], r.bbox[0]], [r.bbox[3], r.bbox[2]]]); });
          li.appendChild(a); ul.appendChild(li);
        }
      } catch (e) { ul.appendChild(gm.el("li", {}, e.message)); }
    }, 250);
  });

  function refreshAll() {
    legend.set(t("planner.legend.coverage") + " · " + typeName(), legendItems());
    for (const l of [coverageLayer, facilities, serviceAreas]) l.refresh();
    candidates.clearLayers(); $("candidates").querySelector("tbody").textContent = "";
    loadGaps();
    runWhatIf();
  }
  typeSel.addEventListener("change", refreshAll);
  levelSel.addEventListener("change", refreshAll);
  minutesSel.addEventListener("change", () => serviceAreas.refresh());
  loadGaps();
  window.gmPlanner = { coverageLayer, facilities, communities, whatif, added, buildings, grids, estates, serviceAreas };
})();
