/* The phone report page /field (issue #14): position (geolocation on a small map, draggable
 * marker, accuracy circle; or a tap on the map, or an address), category (common ones
 * first), description, 1-6 photos resized on the phone (canvas -> JPEG, longest side
 * 1600 px, which also drops EXIF), a possible-duplicate warning, and submit through the
 * offline queue (queue.js). Every data string reaches the DOM as text. */
(function () {
  "use strict";
  const CFG = window.GM_FIELD || {};
  const I18N = window.GM_I18N || {};
  const MAX = CFG.maxPhotos || 6;
  const SIDE = 1600;
  const $ = (id) => document.getElementById(id);
  function t(key, vals) {
    let s = I18N[key] || key;
    for (const [k, v] of Object.entries(vals || {})) s = s.split("{" + k + "}").join(String(v));
    return s;
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function csrf() { return (document.querySelector('meta[name="csrf-token"]') || {}).content || ""; }
  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(String(r.status));
    return r.json();
  }
  const field = { t, el, csrf, getJSON, $ };
  window.gmField = field;

  // --- tabs -----------------------------------------------------------------------
  const tabs = document.querySelectorAll(".fd-tabs [data-tab]");
  function show(name) {
    tabs.forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
    ["report", "mine", "tasks"].forEach((n) => { $("tab-" + n).hidden = n !== name; });
    if (name === "report" && map) setTimeout(() => map.invalidateSize(), 0);
    if (name === "mine") renderMine();
    if (name === "tasks" && field.loadTasks) field.loadTasks();
  }
  tabs.forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
  field.show = show;

  // --- position, then the map when Leaflet arrives ------------------------------------
  // The form works without the map: the position comes from the phone (or an address) and
  // is shown as text; Leaflet, the basemap and the marker follow as soon as they load.
  let map = null, marker = null, circle = null, pos = null, acc = null, manual = false;

  function drawPos() {
    if (!map || !pos) return;
    if (!marker) {
      marker = L.marker([pos.lat, pos.lon], { draggable: true, autoPan: true }).addTo(map);
      marker.on("dragend", () => { const p = marker.getLatLng(); manual = true; place(p.lat, p.lng, null, "picked"); });
    } else marker.setLatLng([pos.lat, pos.lon]);
    if (circle) { map.removeLayer(circle); circle = null; }
    if (acc) circle = L.circle([pos.lat, pos.lon], { radius: acc, weight: 1, color: "#1f5fa8", fillOpacity: 0.12, interactive: false }).addTo(map);
  }
  function place(lat, lon, accuracy, how) {
    pos = { lat: lat, lon: lon };
    acc = accuracy;
    $("fd-pos").textContent = how === "gps" ? t("field.accuracy", { m: Math.round(accuracy) }) : t("field.picked");
    $("fd-pos").dataset.how = how;
    drawPos();
    checkDuplicates();
  }
  function ready() {
    if (document.body.dataset.ready) return;
    performance.mark("field-ready");  // the form is usable (tests, benchmarks/bench_field.py)
    document.body.dataset.ready = "1";
  }
  function locate() {
    if (!navigator.geolocation) { $("fd-pos").textContent = t("field.no_position"); ready(); return; }
    $("fd-pos").textContent = t("field.locating");
    navigator.geolocation.getCurrentPosition((p) => {
      ready();
      if (manual) return;
      place(p.coords.latitude, p.coords.longitude, p.coords.accuracy, "gps");
      if (map) map.setView([p.coords.latitude, p.coords.longitude], Math.max(map.getZoom(), 17));
    }, () => { ready(); if (!pos) $("fd-pos").textContent = t("field.no_position"); },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  }
  $("fd-locate").addEventListener("click", () => { manual = false; locate(); });

  function loadScript(src) {
    return new Promise((ok, bad) => {
      const s = document.createElement("script");
      s.src = src; s.addEventListener("load", ok); s.addEventListener("error", bad);
      document.body.appendChild(s);
    });
  }
  async function initMap() {
    const css = el("link", { rel: "stylesheet", href: "/static/vendor/leaflet/leaflet.css" });
    document.head.appendChild(css);
    await loadScript("/static/vendor/leaflet/leaflet.js");
    const home = pos ? [pos.lat, pos.lon] : CFG.home ? [CFG.home[1], CFG.home[0]] : [31.23, 121.47];
    map = L.map("fd-map", { zoomControl: true, attributionControl: false }).setView(home, pos ? 17 : 15);
    if (CFG.tiles) L.tileLayer(CFG.tiles, { maxZoom: 19 }).addTo(map);
    map.on("click", (e) => { manual = true; place(e.latlng.lat, e.latlng.lng, null, "picked"); });
    window.gm = {  // what the shared basemap (static/js/basemap.js) needs of gridmap.js
      map: map, el: el, display: "wgs84", bbox: (m) => m.getBounds().toBBoxString(),
      withParams: (url, params) => {
        const u = new URL(url, window.location.origin);
        for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
        return u.pathname + u.search;
      },
      api: async (url, opts) => {
        const r = await fetch(url, Object.assign({ credentials: "same-origin", headers: { Accept: "application/json" } }, opts || {}));
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      },
    };
    window.GM_BASEMAP = CFG.basemap || "none";
    drawPos();
    performance.mark("field-map");
    document.body.dataset.map = "1";
    if (window.GM_BASEMAP === "none") {
      await loadScript("/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js");
      await loadScript("/static/js/basemap.js");
    }
  }
  field.mapReady = initMap().catch(() => { $("fd-map").hidden = true; });  // offline without a kept copy: text only
  locate();

  $("fd-find").addEventListener("click", async () => {
    const q = $("fd-address").value.trim();
    if (!q) return;
    try {
      const r = await getJSON("/api/geocode?address=" + encodeURIComponent(q));
      const c = (r.candidates || [])[0];
      if (!c || c.lon === undefined) throw new Error("none");
      manual = true;
      place(c.lat, c.lon, null, "picked");
      if (map) map.setView([c.lat, c.lon], 17);
    } catch (e) { $("fd-pos").textContent = t("field.not_found"); }
  });

  // categories: rendered on the server, common ones first (gridmap.field.area.categories)
  $("fd-category").addEventListener("change", checkDuplicates);

  // --- possible duplicates --------------------------------------------------------------
  let dupTimer = null;
  function checkDuplicates() {
    clearTimeout(dupTimer);
    dupTimer = setTimeout(async () => {
      const box = $("fd-dup");
      const cat = $("fd-category").value;
      if (!pos || !cat || !navigator.onLine) { box.hidden = true; return; }
      try {
        const r = await getJSON("/api/field/duplicates?lon=" + pos.lon + "&lat=" + pos.lat + "&category=" + encodeURIComponent(cat));
        box.replaceChildren();
        if (!r.cases.length) { box.hidden = true; return; }
        box.appendChild(el("span", {}, t("field.duplicate", { r: Math.round(r.radius_m) })));
        const ul = el("ul");
        r.cases.forEach((c) => ul.appendChild(el("li", {}, (c.case_no || "#" + c.id) + " · " + (CFG.states[c.state] || c.state) + " · " + t("field.metres", { m: Math.round(c.distance_m) }))));
        box.appendChild(ul);
        box.hidden = false;
      } catch (e) { box.hidden = true; }
    }, 300);
  }

  // --- photos: resized on the phone -----------------------------------------------------
  const photos = [];
  async function resize(file) {
    let src;
    try { src = await createImageBitmap(file, { imageOrientation: "from-image" }); }
    catch (e) {
      src = await new Promise((ok, bad) => {
        const img = new Image(); const url = URL.createObjectURL(file);
        img.onload = () => { URL.revokeObjectURL(url); ok(img); }; img.onerror = bad; img.src = url;
      });
    }
    const w = src.width, h = src.height, k = Math.min(1, SIDE / Math.max(w, h));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(w * k); canvas.height = Math.round(h * k);
    canvas.getContext("2d").drawImage(src, 0, 0, canvas.width, canvas.height);
    return new Promise((ok) => canvas.toBlob(ok, "image/jpeg", 0.82));
  }
  field.resize = resize;
  function renderPreviews() {
    const ul = $("fd-previews");
    ul.replaceChildren();
    photos.forEach((blob, i) => {
      const li = el("li");
      const img = el("img", { alt: "" });
      img.src = URL.createObjectURL(blob);
      li.appendChild(img);
      li.appendChild(el("button", { type: "button", onclick: () => { photos.splice(i, 1); renderPreviews(); } }, t("field.remove")));
      ul.appendChild(li);
    });
  }
  $("fd-photo").addEventListener("change", async (e) => {
    const files = Array.from(e.target.files || []);
    for (const f of files) {
      if (photos.length >= MAX) { showError(t("field.too_many")); break; }
      try { photos.push(await resize(f)); } catch (err) { showError(String(err)); }
    }
    e.target.value = "";
    renderPreviews();
  });

  // --- submit through the queue ---------------------------------------------------------------
  function showError(msg) { const p = $("fd-error"); p.textContent = msg; p.hidden = !msg; }
  $("fd-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("");
    const problems = [];
    if (!pos) problems.push(t("field.need_position"));
    if (!$("fd-category").value) problems.push(t("field.need_category"));
    if (!photos.length) problems.push(t("field.need_photo"));
    if (problems.length) { showError(problems.join("；")); return; }
    const report = {
      client_id: window.gmQueue.uuid(), created_at: new Date().toISOString(),
      fields: { category: $("fd-category").value, lon: pos.lon.toFixed(7), lat: pos.lat.toFixed(7),
        description: $("fd-desc").value.trim(), address: $("fd-address").value.trim() },
      photos: photos.slice(),
      label: $("fd-category").selectedOptions[0].textContent,
    };
    await window.gmQueue.add(report);
    photos.length = 0; renderPreviews();
    $("fd-desc").value = ""; $("fd-dup").hidden = true;
    $("fd-status").textContent = navigator.onLine ? t("field.sending") : t("field.saved_offline");
    const sent = await window.gmQueue.flush();
    const mine = sent.find((r) => r.client_id === report.client_id);
    $("fd-status").textContent = mine ? t("field.sent", { no: mine.result.case_no || mine.result.id }) : t("field.saved_offline");
  });

  // --- network state, queue badge, my reports ---------------------------------------------------
  function net() {
    const n = $("fd-net");
    n.textContent = navigator.onLine ? t("field.online") : t("field.offline");
    n.classList.toggle("off", !navigator.onLine);
  }
  window.addEventListener("online", net); window.addEventListener("offline", net); net();
  async function badge() {
    const q = await window.gmQueue.all();
    const b = $("fd-queue");
    b.textContent = String(q.length); b.hidden = !q.length;
    b.title = t("field.queue", { n: q.length });
    if (!$("tab-mine").hidden) renderMine();
  }
  window.gmQueue.onChange(badge);

  function item(title, state, pending, meta) {
    const li = el("li");
    const h = el("h3", {}, title);
    h.appendChild(el("span", { class: "fd-state" + (pending ? " pending" : "") }, state));
    li.appendChild(h);
    meta.forEach((m) => { if (m) li.appendChild(el("div", { class: "fd-meta" }, m)); });
    return li;
  }
  async function renderMine() {
    const ul = $("fd-mine");
    const queued = await window.gmQueue.all();
    let sent = [];
    try { sent = (await getJSON("/api/field/reports")).reports; } catch (e) { sent = null; }
    ul.replaceChildren();
    queued.forEach((r) => {
      const li = item(r.label || r.fields.category, t("field.pending"), true,
        [new Date(r.created_at).toLocaleString(), r.fields.description, t("field.photo_count", { n: r.photos.length })]);
      if (r.error) {
        li.appendChild(el("p", { class: "fd-error" }, t("field.failed", { msg: r.error })));
        li.appendChild(el("button", { type: "button", class: "fd-btn secondary", onclick: () => window.gmQueue.discard(r.client_id) }, t("field.discard")));
      }
      ul.appendChild(li);
    });
    (sent || []).forEach((r) => {
      const name = CFG.lang === "en" ? r.category_name_en : r.category_name;
      ul.appendChild(item((r.case_no || "#" + r.id) + " " + name, CFG.states[r.state] || r.state, false,
        [new Date(r.reported_at).toLocaleString(), r.address, r.description, t("field.photo_count", { n: r.photos })]));
    });
    if (!ul.children.length) ul.appendChild(el("li", { class: "fd-meta" }, t("field.none_mine")));
  }
  field.renderMine = renderMine;

  badge();
  window.gmQueue.flush();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/field/sw.js", { scope: "/field" }).catch(() => {});
})();
