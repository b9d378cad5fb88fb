/* Officer page: redraw a community's grids through /api/grids.
 * Data strings go into the DOM with textContent only (gm.el). */
(function () {
  "use strict";
  const gm = window.gm || {};
  const cfg = window.GM_OFFICER || {};
  const t = (k) => (gm.t ? gm.t(k) : k);
  const $ = (id) => document.getElementById(id);
  const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46a0a0", "#c71585",
                   "#808000", "#9a6324", "#000075", "#008080", "#e6a800"];
  const state = { community: null, version: null, lock: null, grids: [], colour: {} };
  let brush = null;
  let map = null, gridLayer = null, unitLayer = null, labelLayer = null, problemLayer = null, drawn = null;
  let versions = null;  // GM_OFF_VERSIONS (versions.js): list, diff, revert, discard, confirmation
  const fill = (s, vals) => Object.keys(vals).reduce((a, k) => a.replace("{" + k + "}", vals[k]), s);

  function findMap() {
    if (gm.map) return gm.map;
    if (window.GM_MAP_NAME && window[window.GM_MAP_NAME]) return window[window.GM_MAP_NAME];
    return null;
  }
  /* One message at a time: a success (green) or a note (amber) replaces any error, an error
   * replaces any success, so a green tick never stands next to a red error. */
  function status(msg, kind) {
    const s = $("off-status");
    s.textContent = msg || "";
    s.dataset.kind = msg ? (kind || "ok") : "";
    if (msg) clearError();
  }
  function fail(err) {
    if (err && typeof err === "object") err.gmShown = true;
    status("");
    const e = $("off-error"); e.hidden = false; e.textContent = String(err.message || err);
  }
  // an error already shown in #off-error is handled: not an uncaught rejection of a button
  window.addEventListener("unhandledrejection", (e) => { if (e.reason && e.reason.gmShown) e.preventDefault(); });
  function clearError() { const e = $("off-error"); e.hidden = true; e.textContent = ""; }
  async function call(url, opts) {
    // gm.withParams adds ?display=gcj02 on a GCJ-02 basemap: geometries come back shifted
    try { return await gm.api(gm.withParams(url), opts); } catch (e) { fail(e); throw e; }
  }

  function colour(gid) {
    if (!(gid in state.colour)) state.colour[gid] = PALETTE[Object.keys(state.colour).length % PALETTE.length];
    return state.colour[gid];
  }

  async function loadVersions() {
    const cid = state.community;
    if (!cid) { $("off-versions").replaceChildren(); return; }
    const data = await call(`/api/grids/communities/${cid}/versions`);
    if (cid !== state.community) return;  // another community was chosen meanwhile
    versions.render(data);
    $("off-new-draft").disabled = false;
    $("off-auto").disabled = false;
    const draft = data.versions.find((v) => v.phase === "draft");
    return { draft: draft ? draft.id : null, active: data.active,
             current: (data.versions.find((v) => v.phase === "current") || {}).id || null };
  }

  /** Reload the list and open ``vid`` (or the draft, else the plan in force). */
  async function reload(vid) {
    const vs = await loadVersions();
    const target = vid || (vs && (vs.draft || vs.current || vs.active));
    if (target) await openVersion(target);
    else clearMap();
  }

  function clearMap() {
    for (const l of [gridLayer, unitLayer, labelLayer]) if (l) l.remove();
    gridLayer = unitLayer = labelLayer = null;
    state.version = null; state.status = null;
    $("off-edit").disabled = true;
  }

  async function openVersion(vid) {
    const data = await call(`/api/grids/versions/${vid}`);
    state.version = vid;
    state.lock = data.version.lock_version;
    state.status = data.version.status;
    state.phase = data.version.phase;
    state.grids = data.grids.features;
    $("off-edit").disabled = data.version.status !== "draft";
    $("off-edit-title").textContent = `${t("off.grids")} · #${data.version.generation} ${t("off.phase." + data.version.phase)}`;
    document.body.dataset.offPhase = data.version.phase;
    renderGrids(data.grids);
    const units = await call(`/api/grids/versions/${vid}/units`);
    renderUnits(units);
    document.querySelectorAll("#off-versions li").forEach((li) =>
      li.classList.toggle("active", Number(li.dataset.version) === vid));
    document.body.dataset.offVersion = String(vid);
    $("off-problems").replaceChildren();
    $("off-impact-box").replaceChildren();
    if (problemLayer) problemLayer.clearLayers();
  }

  function renderGrids(fc) {
    const target = $("off-target");
    const prev = target.value;
    target.replaceChildren();
    const tbody = $("off-grids").querySelector("tbody");
    tbody.replaceChildren();
    for (const f of fc.features) {
      const p = f.properties;
      const label = `${p.grid_code}${p.name ? " " + p.name : ""}`;
      target.appendChild(gm.el("option", { value: String(f.id) }, label));
      const tr = gm.el("tr", { "data-grid": f.id });
      const sw = gm.el("td"); const dot = gm.el("span", { style: `color:${colour(f.id)}` }, "■ ");
      sw.appendChild(dot); sw.appendChild(document.createTextNode(p.grid_code + (p.locked ? " 🔒" : "")));
      tr.appendChild(sw);
      tr.appendChild(gm.el("td", {}, p.households));
      tr.appendChild(gm.el("td", {}, p.residents));
      tr.appendChild(gm.el("td", {}, p.responsible_party || "–"));
      tr.addEventListener("click", () => { target.value = String(f.id); markSelected(); });
      tbody.appendChild(tr);
    }
    target.appendChild(gm.el("option", { value: "new" }, t("off.new_grid")));
    if (prev && [...target.options].some((o) => o.value === prev)) target.value = prev;
    markSelected();
    if (gridLayer) gridLayer.remove();
    gridLayer = L.geoJSON(fc, {
      style: (f) => ({ color: colour(f.id), weight: 3, fill: false }),
      interactive: false,
    }).addTo(map);
    if (fc.features.length && !(gm.takeUrlView && gm.takeUrlView())) map.fitBounds(gridLayer.getBounds(), { maxZoom: 18 });
  }

  function markSelected() {
    const v = $("off-target").value;
    document.querySelectorAll("#off-grids tr[data-grid]").forEach((tr) =>
      tr.classList.toggle("selected", tr.dataset.grid === v));
  }

  /** A person's name for a unit: its own name, else estate + 楼号, else type and id. */
  function unitName(p) {
    if (p.name) return p.name;
    const no = p.building_no != null ? fill(t("off.building_no"), { n: p.building_no }) : "";
    if (p.estate_name || no) return [p.estate_name, no].filter(Boolean).join(" ");
    return `${t("off.unit." + p.unit_type)} ${p.unit_id}`;
  }

  /** 楼号/names as map labels under the units, shown from zoom 17 (DOM nodes, not HTML). */
  function renderLabels(fc) {
    if (labelLayer) labelLayer.remove();
    labelLayer = L.layerGroup();
    for (const f of fc.features) {
      const p = f.properties;
      if (p.unit_type !== "building" || !(p.name || p.building_no != null)) continue;
      const text = p.building_no != null ? fill(t("off.building_no"), { n: p.building_no }) : p.name;
      const c = L.geoJSON(f).getBounds().getCenter();
      const icon = L.divIcon({ className: "off-unit-label", html: gm.el("span", {}, text), iconSize: null });
      labelLayer.addLayer(L.marker(c, { icon, interactive: false, keyboard: false }));
    }
    const sync = () => { if (map.getZoom() >= 17) labelLayer.addTo(map); else labelLayer.remove(); };
    map.off("zoomend", state.labelSync || (() => {}));
    state.labelSync = sync;
    map.on("zoomend", sync);
    sync();
  }

  function renderUnits(fc) {
    state.units = fc;
    renderLabels(fc);
    if (unitLayer) unitLayer.remove();
    unitLayer = L.geoJSON(fc, {
      style: (f) => ({
        color: "#555", weight: 0.6, fillOpacity: 0.22,  // the basemap (roads, buildings) shows through
        fillColor: f.properties.grid_id ? colour(f.properties.grid_id) : "#999",
        className: `off-unit off-unit-${f.properties.unit_type} off-unit-${f.properties.unit_type}-${f.properties.unit_id}`,
      }),
      onEachFeature: (f, layer) => {
        const p = f.properties;
        // an element, not a string: Leaflet renders string tooltips as HTML (OSM names are data)
        layer.bindTooltip(gm.el("span", {}, `${unitName(p)} · ${p.households} ${t("off.households")}`), { sticky: true });
        layer.on("click", () => { if (!(brush && brush.active())) moveUnit(p.unit_type, p.unit_id); });
      },
    }).addTo(map);
    unitLayer.bringToBack();
  }

  /** After an edit: the list's grid counts are current again and an old diff is gone. */
  async function afterEdit() {
    versions.clearDiff();
    await loadVersions();
  }

  /** Explain why a click does nothing on a version that is not a draft. */
  function notDraft() {
    if (state.status === "draft") return false;
    status(fill(t("off.not_draft"), { phase: t("off.phase." + (state.phase || "current")) }), "note");
    return true;
  }

  async function moveUnits(units) {
    if (notDraft() || !units.length) return;
    const target = $("off-target").value;
    const body = { units, to_grid: target === "new" ? null : Number(target), lock_version: state.lock };
    const out = await call(`/api/grids/versions/${state.version}/moves`, { json: body });
    state.lock = out.lock_version;
    await openVersion(state.version);
    await afterEdit();
    $("off-target").value = String(out.to_grid_id);
    markSelected();
    status(`${fill(t("off.moved"), { n: units.length })} ✓`);
  }
  const moveUnit = (type, id) => moveUnits([[type, id]]);

  /** Point in ring (ray casting); ring and point as [lon, lat]. */
  function inRing(ring, pt) {
    let c = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > pt[1]) !== (yj > pt[1]) && pt[0] < (xj - xi) * (pt[1] - yi) / (yj - yi) + xi) c = !c;
    }
    return c;
  }

  /** Units the drawn polygon touches: a unit vertex or centre inside the drawing, or a
   *  drawn vertex inside the unit (a small lasso inside one big cell). */
  function unitsInside(ring) {
    const out = [];
    for (const f of (state.units || { features: [] }).features) {
      const g = f.geometry;
      const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
      const outers = polys.map((p) => p[0]);
      const c = L.geoJSON(f).getBounds().getCenter();
      const hit = inRing(ring, [c.lng, c.lat]) || outers.some((o) => o.some((pt) => inRing(ring, pt)))
        || ring.some((pt) => outers.some((o) => inRing(o, pt)));
      if (hit) out.push([f.properties.unit_type, f.properties.unit_id]);
    }
    return out;
  }

  async function edit(path, extra, done) {
    const out = await call(`/api/grids/versions/${state.version}/${path}`, { json: Object.assign({ lock_version: state.lock }, extra || {}) });
    state.lock = out.lock_version;
    await openVersion(state.version);
    await afterEdit();
    status(`${done || t("off.saved")} ✓`);
    return out;
  }

  async function validate() {
    const res = await call(`/api/grids/versions/${state.version}/validate`);
    const ul = $("off-problems");
    ul.replaceChildren();
    problemLayer.clearLayers();
    if (!res.problems.length) ul.appendChild(gm.el("li", {}, t("off.no_problems")));
    for (const p of res.problems) {
      const li = gm.el("li", { class: p.severity }, `[${t("off.severity." + p.severity)}] ${p.reason}`);
      if (p.geometry) {
        const lyr = L.geoJSON(p.geometry, { style: { color: p.severity === "error" ? "#b3261e" : "#e6a800", weight: 3, dashArray: "4" } });
        problemLayer.addLayer(lyr);
        li.addEventListener("click", () => map.fitBounds(lyr.getBounds(), { maxZoom: 19 }));
      }
      ul.appendChild(li);
    }
  }

  async function impact() {
    const res = await call(`/api/grids/versions/${state.version}/impact`);
    const box = $("off-impact-box");
    box.replaceChildren();
    const keys = ["households", "residents", "buildings", "facilities", "open_incidents"];
    const table = gm.el("table", { class: "off-table", id: "off-impact-table" });
    const head = gm.el("tr"); head.appendChild(gm.el("th", {}, t("off.grids")));
    for (const k of keys) head.appendChild(gm.el("th", {}, t("off." + (k === "open_incidents" ? "incidents" : k))));
    table.appendChild(head);
    for (const g of res.grids) {
      const tr = gm.el("tr"); tr.appendChild(gm.el("td", {}, g.grid_code));
      for (const k of keys) {
        const b = g.before ? g.before[k] : "–", a = g.after ? g.after[k] : "–";
        tr.appendChild(gm.el("td", {}, `${b} → ${a}`));
      }
      table.appendChild(tr);
    }
    box.appendChild(table);
    box.appendChild(gm.el("button", { type: "button", class: "gm-btn secondary", "data-export": "off-impact-table" }, t("off.export_csv")));
    box.appendChild(gm.el("p", {}, `${t("off.moves")}: ${res.moves.length}`));
    const ul = gm.el("ul", { class: "off-list" });
    for (const m of res.moves.slice(0, 50)) {
      ul.appendChild(gm.el("li", {}, `${unitName(m)}: ${m.from_code || "–"} → ${m.to_code || "–"}`));
    }
    box.appendChild(ul);
  }

  function wire() {
    map = findMap();
    if (!map) return;
    problemLayer = L.featureGroup().addTo(map);
    drawn = new L.FeatureGroup().addTo(map);
    if (L.Control && L.Control.Draw) {
      map.addControl(new L.Control.Draw({
        draw: { polygon: true, rectangle: true, polyline: false, circle: false, marker: false, circlemarker: false },
        edit: { featureGroup: drawn, edit: false, remove: false },
      }));
      map.on(L.Draw.Event.CREATED, async (e) => {
        if (notDraft()) return;
        const gj = e.layer.toGeoJSON().geometry;
        if ($("off-draw-mode").value === "lasso") {  // select the units the shape touches
          const units = unitsInside(gj.coordinates[0]);
          if (!units.length) { status(t("off.lasso_none"), "note"); return; }
          await moveUnits(units);
          return;
        }
        const target = $("off-target").value;
        const out = await edit("geometry", { grid_id: target === "new" ? null : Number(target), geometry: gj, crs: gm.display });
        $("off-target").value = String(out.grid_id); markSelected();
      });
    }
    brush = window.GM_OFF_BRUSH({ map, t, status, moveUnits, notDraft, units: () => state.units, unitLayer: () => unitLayer });
    versions = window.GM_OFF_VERSIONS({ call, openVersion, reload, status, state, map: () => map });
    const chooseCommunity = async (value) => {
      state.community = value ? Number(value) : null;
      state.colour = {};
      versions.clearDiff();
      const cid = state.community;
      const vs = await loadVersions();
      if (cid === state.community && vs && (vs.draft || vs.current || vs.active)) await openVersion(vs.draft || vs.current || vs.active);
    };
    $("off-community").addEventListener("change", (e) => chooseCommunity(e.target.value));
    // Open the first community straight away so the map is never empty.
    const sel = $("off-community");
    if (!sel.value && sel.options.length > 1) { sel.selectedIndex = 1; chooseCommunity(sel.value); }
    $("off-new-draft").addEventListener("click", async () => {
      const out = await call(`/api/grids/communities/${state.community}/drafts`, { json: {} });
      await reload(out.version.id);
      status(`${t("off.saved")} ✓`);
    });
    $("off-auto").addEventListener("click", async () => {
      const out = await call(`/api/grids/communities/${state.community}/autopartition`, { json: { seed: 0 } });
      state.colour = {};
      await reload(out.version.id);
      status(`${t("off.saved")} ✓`);
    });
    $("off-target").addEventListener("change", markSelected);
    $("off-undo").addEventListener("click", () => edit("undo", {}, t("off.undone")));
    $("off-redo").addEventListener("click", () => edit("redo", {}, t("off.redone")));
    $("off-rebalance").addEventListener("click", () => edit("rebalance", {}, t("off.rebalanced")));
    $("off-rp-set").addEventListener("click", () => {
      const g = $("off-target").value;
      if (g === "new") return;
      edit(`grids/${g}`, { responsible_party: $("off-rp").value });
    });
    $("off-lock").addEventListener("click", () => {
      const g = $("off-target").value;
      const f = state.grids.find((x) => String(x.id) === g);
      if (!f) return;
      edit(`grids/${g}`, { locked: !f.properties.locked });
    });
    $("off-validate").addEventListener("click", validate);
    $("off-impact").addEventListener("click", impact);
    $("off-activate").addEventListener("click", async () => {
      if (notDraft()) return;
      if (!(await versions.confirmActivation())) return;
      const eff = $("off-effective").value || null;
      const out = await call(`/api/grids/versions/${state.version}/activate`, { json: { lock_version: state.lock, effective: eff } });
      versions.clearDiff();
      await reload(state.version);
      status(out.version.phase === "pending" ? fill(t("off.scheduled"), { d: eff }) : `${t("off.activated")} ✓`);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire); else wire();
})();
