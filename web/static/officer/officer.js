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
  let map = null, gridLayer = null, unitLayer = null, problemLayer = null, drawn = null;

  function findMap() {
    if (gm.map) return gm.map;
    if (window.GM_MAP_NAME && window[window.GM_MAP_NAME]) return window[window.GM_MAP_NAME];
    return null;
  }
  function status(msg) { $("off-status").textContent = msg || ""; }
  function fail(err) { const e = $("off-error"); e.hidden = false; e.textContent = String(err.message || err); }
  function clearError() { const e = $("off-error"); e.hidden = true; e.textContent = ""; }
  async function call(url, opts) {
    clearError();
    // gm.withParams adds ?display=gcj02 on a GCJ-02 basemap: geometries come back shifted
    try { return await gm.api(gm.withParams(url), opts); } catch (e) { fail(e); throw e; }
  }

  function colour(gid) {
    if (!(gid in state.colour)) state.colour[gid] = PALETTE[Object.keys(state.colour).length % PALETTE.length];
    return state.colour[gid];
  }

  async function loadVersions() {
    const cid = state.community;
    const list = $("off-versions");
    if (!cid) { list.replaceChildren(); return; }
    const data = await call(`/api/grids/communities/${cid}/versions`);
    if (cid !== state.community) return;  // another community was chosen meanwhile
    list.replaceChildren();
    let draft = null;
    for (const v of data.versions) {
      const li = gm.el("li", { "data-version": v.id, class: v.id === state.version ? "active" : "" });
      li.appendChild(document.createTextNode(`#${v.generation} ${t("off.status." + v.status)} (${v.grids}) `));
      const b = gm.el("button", { type: "button", class: "gm-btn secondary", "data-open": v.id }, t("off.open"));
      b.addEventListener("click", () => openVersion(v.id));
      li.appendChild(b);
      list.appendChild(li);
      if (v.status === "draft" && draft === null) draft = v.id;
    }
    $("off-new-draft").disabled = false;
    $("off-auto").disabled = false;
    return { draft: draft, active: data.active };
  }

  async function openVersion(vid) {
    const data = await call(`/api/grids/versions/${vid}`);
    state.version = vid;
    state.lock = data.version.lock_version;
    state.status = data.version.status;
    state.grids = data.grids.features;
    $("off-edit").disabled = data.version.status !== "draft";
    $("off-edit-title").textContent = `${t("off.grids")} · #${data.version.generation} ${t("off.status." + data.version.status)}`;
    renderGrids(data.grids);
    const units = await call(`/api/grids/versions/${vid}/units`);
    renderUnits(units);
    document.querySelectorAll("#off-versions li").forEach((li) =>
      li.classList.toggle("active", Number(li.dataset.version) === vid));
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

  function renderUnits(fc) {
    if (unitLayer) unitLayer.remove();
    unitLayer = L.geoJSON(fc, {
      style: (f) => ({
        color: "#555", weight: 0.6, fillOpacity: 0.35,
        fillColor: f.properties.grid_id ? colour(f.properties.grid_id) : "#999",
        className: `off-unit off-unit-${f.properties.unit_type} off-unit-${f.properties.unit_type}-${f.properties.unit_id}`,
      }),
      onEachFeature: (f, layer) => {
        const p = f.properties;
        // an element, not a string: Leaflet renders string tooltips as HTML (OSM names are data)
        layer.bindTooltip(gm.el("span", {}, `${p.name || p.unit_type + " " + p.unit_id} · ${p.households} ${t("off.households")}`), { sticky: true });
        layer.on("click", () => moveUnit(p.unit_type, p.unit_id));
      },
    }).addTo(map);
    unitLayer.bringToBack();
  }

  async function moveUnit(type, id) {
    if (state.status !== "draft") return;
    const target = $("off-target").value;
    const body = { units: [[type, id]], to_grid: target === "new" ? null : Number(target), lock_version: state.lock };
    const out = await call(`/api/grids/versions/${state.version}/moves`, { json: body });
    state.lock = out.lock_version;
    await openVersion(state.version);
    $("off-target").value = String(out.to_grid_id);
    markSelected();
    status(`${t("off.saved")} ✓`);
  }

  async function edit(path, extra) {
    const out = await call(`/api/grids/versions/${state.version}/${path}`, { json: Object.assign({ lock_version: state.lock }, extra || {}) });
    state.lock = out.lock_version;
    await openVersion(state.version);
    status(`${t("off.saved")} ✓`);
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
    box.appendChild(gm.el("p", {}, `${t("off.moves")}: ${res.moves.length}`));
    const ul = gm.el("ul", { class: "off-list" });
    for (const m of res.moves.slice(0, 50)) {
      ul.appendChild(gm.el("li", {}, `${m.name || m.unit_type + " " + m.unit_id}: ${m.from_code || "–"} → ${m.to_code || "–"}`));
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
        if (state.status !== "draft") return;
        const target = $("off-target").value;
        const gj = e.layer.toGeoJSON().geometry;
        const out = await edit("geometry", { grid_id: target === "new" ? null : Number(target), geometry: gj, crs: gm.display });
        $("off-target").value = String(out.grid_id); markSelected();
      });
    }
    const chooseCommunity = async (value) => {
      state.community = value ? Number(value) : null;
      state.colour = {};
      const cid = state.community;
      const vs = await loadVersions();
      if (cid === state.community && vs && (vs.draft || vs.active)) await openVersion(vs.draft || vs.active);
    };
    $("off-community").addEventListener("change", (e) => chooseCommunity(e.target.value));
    // Open the first community straight away so the map is never empty.
    const sel = $("off-community");
    if (!sel.value && sel.options.length > 1) { sel.selectedIndex = 1; chooseCommunity(sel.value); }
    $("off-new-draft").addEventListener("click", async () => {
      const out = await call(`/api/grids/communities/${state.community}/drafts`, { json: {} });
      await loadVersions(); await openVersion(out.version.id);
    });
    $("off-auto").addEventListener("click", async () => {
      const out = await call(`/api/grids/communities/${state.community}/autopartition`, { json: { seed: 0 } });
      state.colour = {};
      await loadVersions(); await openVersion(out.version.id);
    });
    $("off-target").addEventListener("change", markSelected);
    $("off-undo").addEventListener("click", () => edit("undo"));
    $("off-redo").addEventListener("click", () => edit("redo"));
    $("off-rebalance").addEventListener("click", () => edit("rebalance"));
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
      const eff = $("off-effective").value || null;
      await call(`/api/grids/versions/${state.version}/activate`, { json: { lock_version: state.lock, effective: eff } });
      await loadVersions(); await openVersion(state.version);
      status(`${t("off.activate")} ✓`);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire); else wire();
})();
