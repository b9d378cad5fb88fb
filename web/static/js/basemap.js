/* Shared by every map page (base.html loads it after gridmap.js):
 * - a metric scale bar (no feet);
 * - the map view in the URL hash (#map=z/lat/lon), so reload and the language switch
 *   keep it (other hash parameters are left alone);
 * - when no tile provider is configured (GM_BASEMAP "none"), a light basemap drawn from
 *   our own data: vector tiles /api/tiles/base/{z}/{x}/{y}.pbf (roads by class,
 *   buildings, estates, community boundaries, water, rivers, parks/woods/grass) in a pane under every page layer, and
 *   names (roads along their direction, estates) as DOM text from
 *   /api/tiles/base/labels (textContent only). */
(function () {
  "use strict";
  const gm = window.gm;
  if (!gm || !window.L) return;
  /** Our own basemap under `map` (any Leaflet map: the page map, the admin audit map);
   *  returns {layer, labels}, or null without the VectorGrid plugin. */
  gm.ownBasemap = function (map) { return L.vectorGrid ? ownBasemap(map) : null; };
  if (!gm.map) return;
  const map = gm.map;
  L.control.scale({ imperial: false, metric: true, maxWidth: 160 }).addTo(map);

  // --- view in the hash ---------------------------------------------------------
  function hashParams() { return new URLSearchParams(window.location.hash.replace(/^#/, "")); }
  gm.hashParams = hashParams;
  gm.setHashParams = function (updates) {
    const p = hashParams();
    for (const [k, v] of Object.entries(updates)) { if (v === null || v === undefined || v === "") p.delete(k); else p.set(k, v); }
    const h = p.toString().replace(/%2F/g, "/");
    window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search + (h ? "#" + h : ""));
  };
  const view = (hashParams().get("map") || "").split("/").map(Number);
  gm.viewFromUrl = view.length === 3 && view.every(Number.isFinite) && view[0] >= 0 && view[0] <= 22 &&
    Math.abs(view[1]) <= 90 && Math.abs(view[2]) <= 180;
  if (gm.viewFromUrl) {
    const apply = () => map.setView([view[1], view[2]], view[0], { animate: false });
    // the page's initial fitBounds may still be animating: a setView now would be dropped
    if (map._animatingZoom) map.once("zoomend", apply); else apply();
  }
  /** True once, the first time a page would fit its data, if the view came from the URL:
   *  the page then keeps that view instead of fitting (reload, language switch). */
  let urlViewPending = gm.viewFromUrl;
  gm.takeUrlView = function () { const had = urlViewPending; urlViewPending = false; return had; };
  map.on("moveend", function () {
    const c = map.getCenter(), z = map.getZoom();
    const digits = Math.max(2, Math.ceil(Math.log10(Math.pow(2, z))));
    gm.setHashParams({ map: z + "/" + c.lat.toFixed(digits) + "/" + c.lng.toFixed(digits) });
  });

  if ((window.GM_BASEMAP || "none") !== "none" || !L.vectorGrid) return;
  gm.basemap = ownBasemap(map);

  // --- our own basemap ----------------------------------------------------------
  function ownBasemap(map) {
    map.getContainer().classList.add("gm-basemap-own");
    const pane = map.createPane("gmBase");
    pane.style.zIndex = 150;  // above the (empty) tile pane, under every page layer
    pane.style.pointerEvents = "none";
    const labelPane = map.createPane("gmBaseLabels");
    labelPane.style.zIndex = 450;  // names above polygons (overlayPane 400), under markers
    labelPane.style.pointerEvents = "none";

    const ROAD = {  // class: [colour, casing, width at z16]
      motorway: ["#fcd6a4", "#e3a15d", 7], primary: ["#fdf1c4", "#d9b56b", 6],
      tertiary: ["#ffffff", "#c7bfb2", 5], minor: ["#ffffff", "#cfc8bc", 4],
      service: ["#ffffff", "#d8d2c8", 2.5], path: ["#f7f5f2", "#c9b8a6", 1.2],
    };
    const GREEN = { park: "#d6ecc9", wood: "#c6e2b5", grass: "#e1f0d6" };
    const WATER = "#b5d3e7";
    const RIVER_WIDTH = { river: 4, canal: 3.5, stream: 1.6, drain: 1.2, ditch: 1 };
    const widthAt = (cls, z) => (ROAD[cls] || ROAD.minor)[2] * Math.pow(1.45, z - 16);
    const roadLine = (i, extra) => (p, z) => ({ color: (ROAD[p.class] || ROAD.minor)[i],
      weight: widthAt(p.class, z) + extra, lineCap: "round", lineJoin: "round" });
    /** One request per tile: the decoded tile gets a copy of its "roads" layer, named
     *  "road_casing", just before it, so every casing is drawn under every road fill
     *  (two layers for casing and fill fetched each tile twice). */
    const Tiles = L.VectorGrid.Protobuf.extend({
      _getVectorTilePromise: function (coords, bounds) {
        return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, coords, bounds).then((tile) => {
          if (!tile.layers || !tile.layers.roads) return tile;
          const layers = {};
          for (const name of Object.keys(tile.layers)) {
            if (name === "roads") layers.road_casing = tile.layers.roads;
            layers[name] = tile.layers[name];
          }
          tile.layers = layers;
          return tile;
        });
      },
    });
    const base = new Tiles("/api/tiles/base/{z}/{x}/{y}.pbf", {
      pane: "gmBase", rendererFactory: L.canvas.tile, interactive: false,
      maxNativeZoom: 18, maxZoom: 22, minZoom: 10, attribution: "",
      // low priority: the browser's 6 connections serve the page's own data (heat, grids)
      // first; tiles take the sockets left over (the first map paint does not wait on them)
      fetchOptions: { priority: "low", credentials: "same-origin" },
      vectorTileLayerStyles: {  // every layer of the tile needs a style (else Leaflet's blue)
        communities: { color: "#a99bbf", weight: 1.2, dashArray: "5 4", fill: false },
        estates: (p, z) => ({ color: "#dccfae", weight: z >= 16 ? 1 : 0.6, fill: true,
          fillColor: "#f1ead8", fillOpacity: 1 }),
        green: (p) => ({ stroke: false, fill: true, fillColor: GREEN[p.class] || GREEN.grass, fillOpacity: 1 }),
        water: { color: "#9cc3de", weight: 0.6, fill: true, fillColor: WATER, fillOpacity: 1 },
        waterways: (p, z) => ({ color: WATER, weight: Math.max(1, (RIVER_WIDTH[p.class] || 1) * Math.pow(1.35, z - 15)),
          lineCap: "round", lineJoin: "round" }),
        buildings: (p, z) => ({ color: "#c8bfb3", weight: z >= 17 ? 0.8 : 0.4, fill: true,
          fillColor: "#e0dad1", fillOpacity: 1 }),
        road_casing: roadLine(1, 1.6),
        roads: roadLine(0, 0),
      },
    });
    const labels = L.layerGroup([], { pane: "gmBaseLabels" }).addTo(map);

    function label(lb) {
      const box = gm.el("div", { class: "gm-base-label gm-base-label-" + lb.kind + (lb.class ? " gm-road-" + lb.class : "") });
      const span = gm.el("span", {}, lb.name);
      if (lb.kind === "road" && lb.angle) span.style.transform = "rotate(" + lb.angle + "deg)";
      box.appendChild(span);
      return L.marker([lb.lat, lb.lon], { pane: "gmBaseLabels", interactive: false, keyboard: false,
        icon: L.divIcon({ html: box, className: "gm-base-label-icon", iconSize: null }) });
    }
    let controller = null;
    async function refreshLabels() {
      if (controller) controller.abort();
      if (map.getZoom() < 14) { labels.clearLayers(); return; }
      controller = new AbortController();
      const url = gm.withParams("/api/tiles/base/labels", { bbox: gm.bbox(map), zoom: map.getZoom() });
      try {
        const body = await gm.api(url, { signal: controller.signal, priority: "low" });
        labels.clearLayers();
        // estates first, then lakes and parks, then roads (longest first): a label overlapping
        // one already placed is hidden
        const rank = { estate: 0, water: 1, park: 1 };
        const ordered = body.labels.slice().sort((a, b) => (rank[a.kind] ?? 2) - (rank[b.kind] ?? 2));
        const placed = [];
        for (const lb of ordered) {
          const m = label(lb);
          labels.addLayer(m);
          const span = m.getElement() && m.getElement().querySelector("span");
          if (!span) continue;
          const r = span.getBoundingClientRect();
          if (placed.some((p) => r.left < p.right + 4 && r.right > p.left - 4 && r.top < p.bottom + 2 && r.bottom > p.top - 2)) labels.removeLayer(m);
          else placed.push(r);
        }
      } catch (e) { if (e.name !== "AbortError") console.warn("basemap labels", e.message); }
    }
    map.on("moveend", refreshLabels);
    // started after the page's own scripts have sent their first requests
    const start = () => setTimeout(() => { base.addTo(map); refreshLabels(); }, 0);
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
    return { layer: base, labels: labels };
  }
})();
