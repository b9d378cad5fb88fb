/* Planner page: layers, coverage choropleth with the type's tier in the legend, service
 * areas tied to the time selector, and the explicit what-if mode (button, crosshair,
 * banner, Esc leaves; clicks outside the mode never place anything). The gap list,
 * candidates and search are in planner-lists.js; the request guard and URL state in
 * planner-state.js. All data strings go through textContent (gm.el). */
(function () {
  "use strict";
  const map = gm.map, t = gm.t, P = window.gmPlannerCore;
  const $ = (id) => document.getElementById(id);
  const typeSel = $("type"), levelSel = $("level"), minutesSel = $("minutes");
  const modeBtn = $("whatif-mode"), banner = $("whatif-banner");
  const typeOpt = () => typeSel.options[typeSel.selectedIndex];
  const typeName = () => typeOpt().dataset.name;

  // ---- initial state from the URL
  const st0 = P.readState();
  const hasOption = (sel, v) => v !== null && [...sel.options].some((o) => o.value === v);
  if (hasOption(typeSel, st0.type)) typeSel.value = st0.type;
  if (hasOption(levelSel, st0.level)) levelSel.value = st0.level;
  if (hasOption(minutesSel, st0.minutes)) minutesSel.value = st0.minutes;
  if (st0.view) {
    // the initial fitBounds may still be animating: its transition end would reset the view
    const go = () => map.setView([st0.view.lat, st0.view.lng], st0.view.zoom, { animate: false });
    if (map._animatingZoom) map.once("zoomend", go); else go();
  }
  const added = st0.wi.filter((p) => hasOption(typeSel, p.type));

  /** "幼儿园 · 5分钟生活圈 · 步行300米" from the catalogue data of the option. */
  function tierLabel(opt) {
    const r = opt.dataset.radius;
    const reach = r ? t("planner.walk_m").replace("{m}", r) : t("planner.within_estate");
    return [opt.dataset.name, t("planner.tier." + opt.dataset.tier), reach].join(" · ");
  }
  function shareColor(s) {
    if (s === null || s === undefined) return "#bdbdbd";
    if (s >= 0.95) return "#1a9850";
    if (s >= 0.8) return "#91cf60";
    if (s >= 0.5) return "#fc8d59";
    return "#d73027";
  }

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
    params: () => ({ type: typeSel.value, minutes: minutesSel.value || 15 }),
    style: () => ({ color: "#2b8cbe", weight: 1, fillColor: "#2b8cbe", fillOpacity: 0.15, interactive: false }),
  });

  // the what-if answer shown on the choropleth: {level, type, byId: Map(unit id -> change)}
  let change = null;
  const changeOf = (f) => (change && change.level === levelSel.value && change.type === typeSel.value
    ? change.byId.get(f.properties.id) : undefined);
  const coverageStyle = (f) => {
    const c = changeOf(f);
    return c ? { color: "#111", weight: 3.5, dashArray: null, fillColor: shareColor(c.share_after), fillOpacity: 0.8 }
      : { color: "#333", weight: 1, fillColor: shareColor(f.properties.share), fillOpacity: 0.6 };
  };
  const coverageLayer = gm.bboxLayer(map, "/api/planner/coverage", {
    params: () => ({ type: typeSel.value, level: levelSel.value }), style: coverageStyle,
    tooltip: (f) => f.properties.name + " · " + t("planner.share") + " " + gm.pct(f.properties.share) + syn(f.properties),
  });
  // clicking a unit only shows it (outside the what-if mode)
  coverageLayer.on("click", (e) => {
    if (placing) return;
    const p = e.layer.feature.properties, c = changeOf(e.layer.feature);
    const rows = [[t("planner.share"), gm.pct(p.share)],
      [t("planner.covered"), gm.fmt(p.residents_covered) + " / " + gm.fmt(p.residents)]];
    if (c) rows.push([t("planner.whatif.after"), gm.pct(c.share_after) + " (+" + gm.fmt(c.residents_gained) + ")"]);
    const box = gm.popup(p.name, rows, p.synthetic);
    if (levelSel.value === "community" && p.code) box.appendChild(gm.el("a", { href: "/profiles/" + encodeURIComponent(p.code), class: "gm-profile-link" }, t("profiles.open")));  // #17 §2
    L.popup().setLatLng(e.latlng).setContent(box).openOn(map);
  });
  const restyle = () => coverageLayer.eachLayer((l) => l.setStyle(coverageStyle(l.feature)));

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
  overlays[t("layer.candidates")] = candidates;
  overlays[t("layer.whatif")] = whatif;
  L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);

  // ---- legend: tier and radius of the type; service areas and what-if when shown
  const legend = gm.legend(map, "", []);
  function updateLegend() {
    const title = t("planner.legend.coverage") + " · " + tierLabel(typeOpt());
    const items = [[shareColor(1), "≥ 95%"], [shareColor(0.85), "80–95%"], [shareColor(0.6), "50–80%"],
      [shareColor(0.1), "< 50%"], [shareColor(null), t("planner.nodata")]];
    if (minutesSel.value) items.push(["rgba(43,140,190,.35)", t("layer.service_areas") + " · " + minutesSel.value + " " + t("planner.minutes_unit")]);
    if (added.length) {
      items.push(["#ffeb3b", t("planner.whatif.points")]);
      items.push(["rgba(123,50,148,.3)", t("planner.whatif.area")]);
    }
    if (change && change.byId.size) items.push(["#111", t("planner.whatif.units")]);
    legend.set(title, items);
    $("tier-note").textContent = t("planner.tier.note") + ": " + tierLabel(typeOpt());
    $("print-layer").textContent = title;
  }

  // ---- service areas: the time selector shows/hides the layer
  function syncServiceAreas() {
    if (minutesSel.value) { if (map.hasLayer(serviceAreas)) serviceAreas.refresh(); else serviceAreas.addTo(map); }
    else if (map.hasLayer(serviceAreas)) map.removeLayer(serviceAreas);
  }

  // ---- what-if mode
  let placing = false;
  function setMode(on) {
    placing = !!on;
    modeBtn.setAttribute("aria-pressed", String(placing));
    modeBtn.textContent = placing ? modeBtn.dataset.stop : modeBtn.dataset.start;
    banner.hidden = !placing;
    map.getContainer().classList.toggle("gm-placing", placing);
    if (placing) map.closePopup();
    saveState();
  }
  modeBtn.addEventListener("click", () => setMode(!placing));
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && placing) setMode(false); });
  map.on("click", (e) => {
    if (!placing) return;
    added.push({ type: typeSel.value, lon: e.latlng.lng, lat: e.latlng.lat });
    runWhatIf();
  });
  $("whatif-clear").addEventListener("click", () => { added.length = 0; runWhatIf(); });

  function drawPoints(areas) {
    whatif.clearLayers();
    if (areas) {
      L.geoJSON({ type: "FeatureCollection", features: areas.features.filter((f) => f.geometry) }, {
        style: () => ({ color: "#7b3294", weight: 2, dashArray: "6 4", fillColor: "#7b3294", fillOpacity: 0.18, interactive: false }),
      }).addTo(whatif);
    }
    added.forEach((a, i) => {
      const opt = [...typeSel.options].find((o) => o.value === a.type);
      L.circleMarker([a.lat, a.lon], { radius: 9, color: "#000", weight: 2, dashArray: "3 2", fillColor: "#ffeb3b", fillOpacity: 0.9, pane: "gmPoints", bubblingMouseEvents: false })
        .bindTooltip(gm.el("span", {}, t("planner.whatif.site") + " " + (i + 1) + " · " + (opt ? tierLabel(opt) : a.type))).addTo(whatif);
    });
  }
  function showUnits(units) {
    const tbody = $("whatif-units").querySelector("tbody");
    tbody.textContent = "";
    for (const u of units) {
      const tr = gm.el("tr", { class: "gm-gain", "data-unit": String(u.unit_id) });
      tr.appendChild(gm.el("td", {}, u.unit_name || "#" + u.unit_id));
      tr.appendChild(gm.el("td", { class: "num" }, gm.pct(u.share_before) + " → " + gm.pct(u.share_after)));
      tr.appendChild(gm.el("td", { class: "num" }, (u.residents_gained >= 0 ? "+" : "") + gm.fmt(u.residents_gained)));
      if (u.bbox) { tr.classList.add("gm-row-click"); tr.addEventListener("click", () => map.fitBounds([[u.bbox[1], u.bbox[0]], [u.bbox[3], u.bbox[2]]])); }
      tbody.appendChild(tr);
    }
    $("whatif-units").hidden = !units.length;
  }
  function resetWhatIf() {
    $("whatif-result").hidden = true; $("whatif-units").hidden = true; $("whatif-msg").textContent = "";
    change = null; restyle(); drawPoints(null); updateLegend();
  }
  async function runWhatIf() {
    saveState();
    if (!added.length) { P.cancel("whatif"); resetWhatIf(); return; }
    drawPoints(null);
    $("whatif-msg").textContent = "…";
    const focus = added.some((a) => a.type === typeSel.value) ? typeSel.value : null;
    try {
      const res = await P.api("whatif", "/api/planner/whatif", { json: {
        add: added.map((a) => ({ type: a.type, lon: a.lon, lat: a.lat })), crs: gm.display,
        level: levelSel.value, type: focus } });
      const row = res.types.find((x) => x.type_code === res.focus) || res.types[0];
      $("wi-before").textContent = gm.fmt(row.before.residents);
      $("wi-after").textContent = gm.fmt(row.after.residents);
      $("wi-delta").textContent = (row.delta.residents >= 0 ? "+" : "") + gm.fmt(row.delta.residents);
      $("whatif-result").hidden = false;
      const opt = [...typeSel.options].find((o) => o.value === res.focus);
      $("whatif-msg").textContent = (focus ? t("planner.whatif.result") : t("planner.whatif.other_type")) + " · " + (opt ? tierLabel(opt) : res.focus)
        + (res.units.length ? "" : " · " + t("planner.whatif.none"));
      change = { level: res.level, type: res.focus, byId: new Map(res.units.map((u) => [u.unit_id, u])) };
      showUnits(res.units);
      restyle(); drawPoints(res.service_areas); updateLegend();
    } catch (e) {
      if (P.aborted(e)) return;
      resetWhatIf(); drawPoints(null);
      $("whatif-msg").textContent = t("planner.unavailable") + ": " + e.message;
    }
  }

  // ---- page state
  function saveState() {
    const c = map.getCenter();
    P.writeState({ type: typeSel.value, level: levelSel.value, minutes: minutesSel.value,
      mode: placing ? "whatif" : "", wi: added, view: { zoom: map.getZoom(), lat: c.lat, lng: c.lng } });
  }
  map.on("moveend", saveState);

  const api = {
    map, coverageLayer, facilities, communities, whatif, added, buildings, grids, estates, serviceAreas,
    candidates, setMode, runWhatIf, tierLabel, saveState, isPlacing: () => placing,
    lists: { reload: () => {}, clearCandidates: () => {} },
    addWhatIf(type, lon, lat) { added.push({ type, lon, lat }); runWhatIf(); },
    get change() { return change; },
  };
  window.gmPlanner = api;

  function refreshAll() {
    updateLegend();
    for (const l of [coverageLayer, facilities]) l.refresh();
    syncServiceAreas();
    api.lists.clearCandidates();
    api.lists.reload();
    runWhatIf();
  }
  typeSel.addEventListener("change", refreshAll);
  levelSel.addEventListener("change", refreshAll);
  minutesSel.addEventListener("change", () => { syncServiceAreas(); updateLegend(); saveState(); });
  $("print-btn").addEventListener("click", () => window.print());
  window.addEventListener("beforeprint", () => map.invalidateSize());
  window.addEventListener("afterprint", () => map.invalidateSize());
  $("print-date").textContent = new Date().toLocaleDateString(document.documentElement.lang);

  updateLegend();
  syncServiceAreas();
  if (st0.mode === "whatif") setMode(true);
  if (added.length) runWhatIf(); else saveState();
})();
