/* gridmap shared client code: escaping, API calls, bbox-limited GeoJSON layers,
 * vector tiles, legends. Every string from data goes into the DOM through
 * textContent (never innerHTML), so names like <script>…</script> show literally. */
(function () {
  "use strict";
  const gm = (window.gm = window.gm || {});
  gm.i18n = window.GM_I18N || {};
  gm.display = window.GM_DISPLAY || "wgs84";
  gm.map = window.GM_MAP_NAME ? window[window.GM_MAP_NAME] : null;
  gm.t = (key) => (key in gm.i18n ? gm.i18n[key] : key);
  const lang = document.documentElement.lang || "zh-CN";
  gm.fmt = (n, digits) =>
    n === null || n === undefined ? "–" :
      Number(n).toLocaleString(lang, { minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0 });
  gm.pct = (x, digits) => (x === null || x === undefined ? "–" : (x * 100).toFixed(digits === undefined ? 1 : digits) + "%");

  /** Create an element; text is set with textContent (safe for any data). */
  gm.el = function (tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };
  gm.csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  /** fetch JSON; rejects with the server's message on HTTP errors. */
  gm.api = async function (url, opts) {
    opts = Object.assign({ headers: {} }, opts || {});
    if (opts.json !== undefined) {
      opts.method = opts.method || "POST";
      opts.body = JSON.stringify(opts.json);
      opts.headers["Content-Type"] = "application/json";
      delete opts.json;
    }
    if (opts.method && opts.method !== "GET") opts.headers["X-CSRFToken"] = gm.csrf();
    const r = await fetch(url, opts);
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) throw new Error((body && body.error) || r.status + " " + r.statusText);
    return body;
  };
  gm.withParams = function (url, params) {
    const u = new URL(url, window.location.origin);
    for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
    if (gm.display !== "wgs84") u.searchParams.set("display", gm.display);
    return u.pathname + u.search;
  };
  gm.bbox = (map) => map.getBounds().toBBoxString();

  /** A popup body: a title and a definition list of [label, value] rows. */
  gm.popup = function (title, rows, synthetic) {
    const box = gm.el("div", { class: "gm-popup" });
    const h = gm.el("strong", {}, title);
    box.appendChild(h);
    if (synthetic) { box.appendChild(document.createTextNode(" ")); box.appendChild(gm.el("span", { class: "gm-tag" }, gm.t("synthetic"))); }
    const dl = gm.el("dl");
    for (const [k, v] of rows || []) { dl.appendChild(gm.el("dt", {}, k)); dl.appendChild(gm.el("dd", {}, v)); }
    box.appendChild(dl);
    return box;
  };

  /**
   * A GeoJSON layer re-fetched from `url` with bbox and zoom whenever the map moves.
   * opts: {params(): extra query, minZoom, style(feature), pointToLayer, popup(feature) -> Node,
   *        tooltip(feature) -> string, onData(fc)}.
   */
  gm.bboxLayer = function (map, url, opts) {
    opts = opts || {};
    const layer = L.geoJSON(null, {
      style: opts.style, pointToLayer: opts.pointToLayer,
      onEachFeature: function (f, l) {
        if (opts.popup) l.bindPopup(() => opts.popup(f));
        if (opts.tooltip) { const s = opts.tooltip(f); if (s) l.bindTooltip(gm.el("span", {}, s), { sticky: true }); }
      },
    });
    let controller = null;
    layer.refresh = async function () {
      if (!map.hasLayer(layer)) return;
      if (opts.minZoom && map.getZoom() < opts.minZoom) { layer.clearLayers(); return; }
      if (controller) controller.abort();
      controller = new AbortController();
      const params = Object.assign({ bbox: gm.bbox(map), zoom: map.getZoom() }, opts.params ? opts.params() : {});
      try {
        const fc = await gm.api(gm.withParams(url, params), { signal: controller.signal });
        layer.clearLayers();
        layer.addData(fc);
        if (opts.onData) opts.onData(fc);
      } catch (e) { if (e.name !== "AbortError") console.warn(url, e.message); }
    };
    map.on("moveend", () => layer.refresh());
    layer.on("add", () => layer.refresh());
    return layer;
  };

  /** Vector tiles (ST_AsMVT) from /api/tiles/<name>/{z}/{x}/{y}.pbf with Leaflet.VectorGrid. */
  gm.vectorTiles = function (name, style, opts) {
    opts = opts || {};
    const styles = {}; styles[name] = style;
    const url = gm.withParams("/api/tiles/" + name + "/{z}/{x}/{y}.pbf", {}).replace(/%7B/g, "{").replace(/%7D/g, "}");
    const vg = L.vectorGrid.protobuf(url, Object.assign({
      vectorTileLayerStyles: styles, interactive: true, maxNativeZoom: 18, minZoom: opts.minZoom || 14,
      getFeatureId: (f) => f.properties.id,
    }, opts));
    if (opts.popup) vg.on("click", (e) => L.popup().setLatLng(e.latlng).setContent(opts.popup(e.layer.properties)).openOn(gm.map));
    return vg;
  };

  /** A legend control: items = [[color, label], ...]. Returns the control (update with .set(items)). */
  gm.legend = function (map, title, items, position) {
    const ctl = L.control({ position: position || "bottomright" });
    let box = null;
    ctl.set = function (t, its) {
      if (!box) return;
      box.textContent = "";
      box.appendChild(gm.el("strong", {}, t));
      for (const [color, label] of its) {
        const row = gm.el("div");
        const sw = gm.el("i"); sw.style.background = color;
        row.appendChild(sw); row.appendChild(document.createTextNode(label));
        box.appendChild(row);
      }
    };
    ctl.onAdd = function () { box = gm.el("div", { class: "gm-legend" }); ctl.set(title, items); return box; };
    ctl.addTo(map);
    return ctl;
  };

  // The language switch keeps the page's state: the query string is in "next" already
  // (server side), the hash (map view, page state) is added here.
  document.querySelectorAll("form.gm-lang").forEach((f) => f.addEventListener("submit", () => {
    const next = f.querySelector('input[name="next"]');
    if (next && window.location.hash) next.value = next.value.split("#")[0] + window.location.hash;
  }));

  if (gm.map) {
    gm.map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    gm.map.attributionControl.addAttribution(gm.t("map.attribution"));
  }
})();
