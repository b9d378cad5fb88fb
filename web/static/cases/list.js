/* Case list (issue #14): filter bar → /api/cases (sortable table, paging) and
 * /api/cases/points (clustered markers following the selection); export → XLSX.
 * The URL's query string holds the selection, so the supervisor page can link to it. */
(function () {
  "use strict";
  const gm = window.gm, cs = window.cs;
  const form = document.getElementById("cs-filters");
  const body = document.getElementById("cs-body");
  const state = { page: 1, page_size: 50, sort: "reported_at", desc: true };
  const SELECT = ["case_no", "q", "phone", "start", "end", "status", "category", "urgency", "source",
                  "level", "light", "community_id", "unit_id", "grid_id", "grid", "street_id", "open", "overdue"];
  let cluster = null;
  let single = new URLSearchParams(window.location.search).get("single") === "1";  // a link to one case
  const markers = new Map();

  function fromUrl() {
    const u = new URLSearchParams(window.location.search);
    for (const k of SELECT) {
      const el = form.elements[k];
      if (!el || !u.has(k)) continue;
      if (el.type === "checkbox") el.checked = u.get(k) === "true"; else el.value = u.get(k);
    }
    for (const k of ["page", "page_size"]) if (u.has(k)) state[k] = parseInt(u.get(k), 10) || state[k];
    if (u.has("sort")) state.sort = u.get("sort");
    if (u.has("desc")) state.desc = u.get("desc") !== "false";
  }
  function selection() {
    const out = {};
    for (const k of SELECT) {
      const el = form.elements[k];
      if (!el) continue;
      if (el.type === "checkbox") { if (el.checked) out[k] = "true"; }
      else if (el.value) out[k] = el.value;
    }
    if (out.start && out.start.length === 10) out.start += "T00:00:00+08:00";
    if (out.end && out.end.length === 10) out.end += "T23:59:59+08:00";
    return out;
  }
  function urlParams() {
    return Object.assign(selection(), { page: state.page, page_size: state.page_size,
                                        sort: state.sort, desc: state.desc });
  }
  function remember() {
    const u = new URLSearchParams();
    for (const k of SELECT) { const el = form.elements[k]; if (!el) continue;
      if (el.type === "checkbox") { if (el.checked) u.set(k, "true"); } else if (el.value) u.set(k, el.value); }
    if (state.page > 1) u.set("page", state.page);
    if (state.sort !== "reported_at") u.set("sort", state.sort);
    if (!state.desc) u.set("desc", "false");
    window.history.replaceState(null, "", window.location.pathname + (u.toString() ? "?" + u : ""));
  }
  function lightCell(light) {
    if (!light) return "–";
    return gm.el("span", { class: "cs-light-" + light }, gm.t("cases.light." + light));
  }
  function render(data) {
    cs.clear(body);
    for (const r of data.items) {
      const tr = cs.row([r.case_no || String(r.id), r.category_name, r.state_label, r.urgency_label,
                         r.unit_name, r.address, lightCell(r.light), cs.time(r.reported_at), cs.time(r.due_at)],
                        () => { window.location.href = cs.caseUrl(r.id); });
      tr.dataset.id = r.id;
      tr.addEventListener("mouseenter", () => highlight(r.id));
      body.appendChild(tr);
    }
    if (!data.items.length) body.appendChild(cs.row([gm.t("cases.none")]));
    const total = data.total_capped ? cs.fmt("cases.total_capped", { n: data.total }) : cs.fmt("cases.total", { n: data.total });
    cs.show("cs-total", total);
    document.getElementById("cs-page").textContent = cs.fmt("cases.page", { p: data.page });
    document.getElementById("cs-prev").disabled = data.page <= 1;
    document.getElementById("cs-next").disabled = data.page * data.page_size >= data.total && !data.total_capped;
    for (const th of document.querySelectorAll("#cs-table th[data-sort]")) {
      if (th.dataset.sort === state.sort) th.setAttribute("aria-sort", state.desc ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    }
  }
  function highlight(id) {
    const m = markers.get(id);
    if (!m || !cluster) return;
    cluster.zoomToShowLayer(m, () => m.openTooltip());
  }
  async function loadPoints() {
    if (!gm.map || !window.L || !L.markerClusterGroup) return;
    const res = await cs.call(gm.withParams("/api/cases/points", selection()));
    if (!res.ok) return;
    if (cluster) gm.map.removeLayer(cluster);
    cluster = L.markerClusterGroup({ maxClusterRadius: 50 });
    markers.clear();
    const pts = [];
    for (const [id, lon, lat, st] of res.body.points) {
      const m = L.circleMarker([lat, lon], { radius: 7, weight: 2, color: "#fff", fillColor: st === "closed" || st === "evaluated" ? "#1a9850" : "#d73027", fillOpacity: 0.9 });
      m.bindTooltip(gm.el("span", {}, "#" + id));
      m.on("click", () => { window.location.href = cs.caseUrl(id); });
      markers.set(id, m);
      cluster.addLayer(m);
      pts.push([lat, lon]);
    }
    gm.map.addLayer(cluster);
    if (pts.length) gm.map.fitBounds(L.latLngBounds(pts).pad(0.1), { maxZoom: 17 });
    const note = document.getElementById("cs-map-note");
    note.textContent = res.body.capped ? cs.fmt("cases.map_capped", { n: res.body.points.length }) : "";
    note.hidden = !res.body.capped;
  }
  async function load() {
    remember();
    cs.show("cs-error", "");
    const res = await cs.call(gm.withParams("/api/cases", urlParams()));
    if (!res.ok) { cs.show("cs-error", cs.message(res)); cs.show("cs-total", ""); cs.clear(body); return; }
    render(res.body);
    if (single && res.body.total === 1 && res.body.items.length === 1) window.location.replace(cs.caseUrl(res.body.items[0].id));
    single = false;
  }
  function reload() { state.page = 1; load(); loadPoints(); }

  form.addEventListener("submit", (e) => { e.preventDefault(); reload(); });
  form.addEventListener("change", (e) => { if (e.target.tagName === "SELECT" || e.target.type === "checkbox" || e.target.type === "date") reload(); });
  document.getElementById("cs-reset").addEventListener("click", () => { form.reset(); for (const k of ["unit_id", "grid_id", "grid", "street_id"]) form.elements[k].value = ""; reload(); });
  document.getElementById("cs-prev").addEventListener("click", () => { if (state.page > 1) { state.page -= 1; load(); } });
  document.getElementById("cs-next").addEventListener("click", () => { state.page += 1; load(); });
  document.getElementById("cs-export").addEventListener("click", () => {
    const p = Object.assign(selection(), { sort: state.sort, desc: state.desc });
    window.location.href = gm.withParams("/api/cases/export", p);
  });
  for (const th of document.querySelectorAll("#cs-table th[data-sort]")) {
    th.addEventListener("click", () => {
      if (state.sort === th.dataset.sort) state.desc = !state.desc; else { state.sort = th.dataset.sort; state.desc = true; }
      state.page = 1; load();
    });
  }
  fromUrl();
  load();
  loadPoints();
})();
