/* Supervisor page: incident heatmap with filters and playback, per-grid indicator
 * choropleth, hotspots, overdue list, grid details.
 *
 * Every string that comes from data is put into the DOM with textContent (never
 * innerHTML), so a description like <script>alert(1)</script> shows as text.
 * All data comes from the app's own /api endpoints, bbox- and zoom-limited.
 */
(function () {
  "use strict";

  var cfg = window.GM_SUPERVISOR || {};
  var T = window.GM_I18N || {};
  function t(key, fallback) { return T[key] || fallback || key; }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k === "class") { node.className = attrs[k]; }
      else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function findMap() {
    if (window.gm && window.gm.map) { return window.gm.map; }
    if (window.GM_MAP_NAME && window[window.GM_MAP_NAME]) { return window[window.GM_MAP_NAME]; }
    for (var k in window) {
      if (k.indexOf("map_") === 0 && window[k] instanceof L.Map) { return window[k]; }
    }
    return null;
  }

  function fmtPct(v) {
    if (v === null || v === undefined) { return "–"; }
    return (v * 100).toFixed(1) + "%";
  }
  function fmtNum(v) {
    if (v === null || v === undefined) { return "–"; }
    return Number(v).toLocaleString(cfg.locale || "zh-CN");
  }
  function fmtTime(v) {
    if (!v) { return "–"; }
    var d = new Date(v);
    return isNaN(d) ? String(v) : d.toLocaleString(cfg.locale || "zh-CN", { hour12: false });
  }

  var state = { playing: null, stepIndex: null, steps: [], seq: 0 };

  function $(id) { return document.getElementById(id); }

  /* checkbox dropdown filters (filters.js): "sup-category" → the checked category codes */
  function selected(id) {
    var f = window.GM_SUP_FILTERS;
    return f ? f.selected(id.replace(/^sup-/, "")) : [];
  }

  /* The active time window as [start, end] Date objects. */
  function windowRange() {
    // whole minutes: identical views make identical (cacheable) requests
    var now = new Date(Math.ceil(Date.now() / 6e4) * 6e4);
    var w = $("sup-window").value;
    if (w === "custom") {
      var s = $("sup-start").value, e = $("sup-end").value;
      return [s ? new Date(s) : new Date(now - 30 * 864e5), e ? new Date(e) : now];
    }
    var ms = { "24h": 864e5, "7d": 7 * 864e5, "30d": 30 * 864e5 }[w] || 30 * 864e5;
    return [new Date(now - ms), now];
  }

  function filterParams(map, opts) {
    var p = new URLSearchParams();
    var b = map.getBounds();
    var x0 = Math.max(b.getWest(), -180), x1 = Math.min(b.getEast(), 180);
    var y0 = Math.max(b.getSouth(), -90), y1 = Math.min(b.getNorth(), 90);
    // the API refuses boxes larger than 2 degrees: clamp around the centre
    var cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    if (x1 - x0 > 1.99) { x0 = cx - 0.99; x1 = cx + 0.99; }
    if (y1 - y0 > 1.99) { y0 = cy - 0.99; y1 = cy + 0.99; }
    p.set("bbox", [x0, y0, x1, y1].map(function (v) { return v.toFixed(6); }).join(","));
    var range = (opts && opts.range) || windowRange();
    p.set("start", range[0].toISOString());
    p.set("end", range[1].toISOString());
    ["category", "status", "urgency", "source"].forEach(function (name) {
      var v = selected("sup-" + name);
      if (v.length) { p.set(name, v.join(",")); }
    });
    return p;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error(body && body.error ? body.error : String(r.status)); }
          return body;
        });
      });
  }

  function showError(err) {
    var box = $("sup-error");
    if (box) { box.textContent = String(err && err.message ? err.message : err); box.hidden = false; }
  }
  function clearError() { var box = $("sup-error"); if (box) { box.hidden = true; box.textContent = ""; } }

  /* ---------------- heat ---------------- */

  var heatLayer = null, cellLayer = null;

  /** The pane for incident heat: above the grid choropleth, transparent to clicks, so the
   *  density stays readable over a filled grid and the grids stay clickable under it. */
  function heatPane(map) {
    var pane = map.getPane("supHeat");
    if (!pane) {
      pane = map.createPane("supHeat");
      pane.style.zIndex = 450;
      pane.style.pointerEvents = "none";
    }
    return pane;
  }

  /* the heat switch (#sup-show-heat); the pane is translucent (CSS) so the indicator colours
   * underneath stay readable */
  function heatOn() { var b = $("sup-show-heat"); return !b || b.checked; }

  function showHeat(map, layer) {
    layer.addTo(map);
    // leaflet.heat always draws in the overlay pane: move it above the grid choropleth
    if (layer._canvas) { heatPane(map).appendChild(layer._canvas); }
  }

  function hideHeat(map) {
    if (heatLayer && map.hasLayer(heatLayer)) {
      if (heatLayer._canvas) { map.getPanes().overlayPane.appendChild(heatLayer._canvas); }
      map.removeLayer(heatLayer);
    }
    if (cellLayer && map.hasLayer(cellLayer)) { map.removeLayer(cellLayer); }
  }

  function toggleHeat(map) {
    if (!heatOn()) { hideHeat(map); } else {
      if (heatLayer && !map.hasLayer(heatLayer)) { showHeat(map, heatLayer); }
      if (cellLayer && !map.hasLayer(cellLayer)) { cellLayer.addTo(map); }
    }
    $("sup-legend-heat").hidden = !heatOn();
    document.body.setAttribute("data-sup-heat", heatOn() ? "on" : "off");
  }

  function cellColor(i) {
    // fixed scale: intensity is normalised server-side (density / reference density)
    var stops = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];
    return stops[Math.min(stops.length - 1, Math.floor(i * stops.length))];
  }

  function drawHeat(map, body) {
    hideHeat(map);  // leaflet.heat removes its canvas from the overlay pane: put back first
    heatLayer = null;
    cellLayer = null;
    var countText;
    if (body.mode === "points") {
      var pts = body.points.map(function (p) { return [p[0], p[1], 1]; });
      if (L.heatLayer) {
        heatLayer = L.heatLayer(pts, { radius: 18, blur: 15, maxZoom: 17, max: 1.0, minOpacity: 0.1 });
        if (heatOn()) { showHeat(map, heatLayer); }
      }
      countText = t("sup.count_points", "{n} 起事件").replace("{n}", fmtNum(body.total));
      $("sup-map-stats").setAttribute("data-cells", "0");
    } else {
      cellLayer = L.layerGroup();
      body.cells.forEach(function (c) {
        // cells sit in the heat pane above the grids and let clicks through to them
        var shape = c.boundary ? L.polygon(c.boundary, {
          weight: 0.5, color: "#888", fillColor: cellColor(c.intensity), fillOpacity: 0.15 + 0.4 * c.intensity,
          className: "sup-cell", pane: heatPane(map) && "supHeat", interactive: false,
        }) : L.circleMarker([c.lat, c.lon], {
          radius: 6, weight: 0, fillColor: cellColor(c.intensity), fillOpacity: 0.55, className: "sup-cell",
          pane: heatPane(map) && "supHeat", interactive: false,
        });
        cellLayer.addLayer(shape);
      });
      if (heatOn()) { cellLayer.addTo(map); }
      countText = t("sup.count_cells", "{n} 起事件，{c} 个单元")
        .replace("{n}", fmtNum(body.total)).replace("{c}", fmtNum(body.cells.length));
      $("sup-map-stats").setAttribute("data-cells", String(body.cells.length));
    }
    $("sup-count").textContent = countText;
    $("sup-count").setAttribute("data-total", String(body.total));
    $("sup-map-stats").setAttribute("data-mode", body.mode);
    if (!state.painted && window.performance && performance.mark) {
      state.painted = true;
      performance.mark("sup-ready");  // first meaningful paint: the heat layer is on the map
    }
  }

  function loadHeat(map, range) {
    var seq = ++state.seq;
    var p = filterParams(map, { range: range });
    p.set("zoom", String(map.getZoom()));
    return getJSON("/api/aggregates/heat?" + p.toString()).then(function (body) {
      if (seq === state.seq) { drawHeat(map, body); clearError(); }
    }).catch(showError);
  }

  /* ---------------- grids: choropleth, hotspots, details ---------------- */

  var gridLayer = null, hotLayer = null, hotspotIds = {};

  /** Hotspot outlines in a pane above the heat: a hotspot stays visible under dense heat. */
  function drawHotspots(map, fc) {
    if (hotLayer) { map.removeLayer(hotLayer); hotLayer = null; }
    if (!map.getPane("supTop")) {
      var pane = map.createPane("supTop");
      pane.style.zIndex = 460;
      pane.style.pointerEvents = "none";
    }
    var hot = fc.features.filter(function (f) { return hotspotIds[f.properties.grid_id]; });
    hotLayer = L.geoJSON({ type: "FeatureCollection", features: hot }, {
      pane: "supTop", interactive: false,
      style: function () { return { color: "#b30000", weight: 3.5, fill: false, className: "sup-hotspot-outline" }; },
    });
    if ($("sup-show-grids").checked) { hotLayer.addTo(map); }
    return hot.length;
  }

  var RAMP = ["#d73027", "#fc8d59", "#fee08b", "#d9ef8b", "#91cf60", "#1a9850"];
  function rateColor(v) {
    if (v === null || v === undefined) { return "#cccccc"; }
    return RAMP[Math.min(RAMP.length - 1, Math.floor(v * RAMP.length))];
  }
  function overdueColor(n) {
    if (!n) { return "#1a9850"; }
    if (n < 3) { return "#fee08b"; }
    if (n < 10) { return "#fc8d59"; }
    return "#d73027";
  }

  function gridStyle(feature) {
    var ind = $("sup-indicator").value;
    var p = feature.properties;
    var fill = ind === "overdue_open" ? overdueColor(p.overdue_open) : rateColor(p[ind]);
    var hot = hotspotIds[p.grid_id];
    return {
      color: hot ? "#b30000" : "#555", weight: hot ? 3.5 : 0.8, dashArray: hot ? null : "3",
      fillColor: fill, fillOpacity: 0.3, className: hot ? "sup-grid sup-hotspot" : "sup-grid",
    };
  }

  function row(label, value) {
    return el("tr", {}, [el("th", { text: label }), el("td", { text: value })]);
  }

  function gridPopup(map, latlng, gridId) {
    var box = el("div", { class: "sup-popup" }, [el("p", { text: t("sup.loading", "加载中…") })]);
    // a map popup, not one bound to the grid layer: it stays open when a background refresh
    // replaces the grid layer
    var popup = L.popup({ maxWidth: 420 }).setLatLng(latlng).setContent(box).openOn(map);
    var range = windowRange();
    var q = new URLSearchParams({ start: range[0].toISOString(), end: range[1].toISOString() });
    getJSON("/supervisor/api/grids/" + encodeURIComponent(gridId) + "?" + q.toString()).then(function (d) {
      box.textContent = "";
      box.appendChild(el("h3", { text: (d.grid.name || d.grid.grid_code) + " (" + d.grid.grid_code + ")" }));
      // the grid's community profile (a grid code is its community's 12-digit code + a number)
      if (String(d.grid.grid_code).length > 12) box.appendChild(el("a", { href: "/profiles/" + encodeURIComponent(String(d.grid.grid_code).slice(0, 12)), class: "sup-profile-link", text: t("profiles.open", "社区画像") }));
      var ind = d.indicators || {};
      box.appendChild(el("table", { class: "sup-kv" }, [
        row(t("sup.filed", "立案数"), fmtNum(ind.filed)),
        row(t("sup.closed", "结案数"), fmtNum(ind.closed)),
        row(t("sup.due", "应结案数"), fmtNum(ind.due)),
        row(t("sup.closure_rate", "结案率"), fmtPct(ind.closure_rate)),
        row(t("sup.ontime_rate", "按期结案率"), fmtPct(ind.ontime_rate)),
        row(t("sup.overdue_open", "超期未结"), fmtNum(ind.overdue_open)),
        row(t("sup.score", "综合指标值"), ind.score == null ? "–" : ind.score.toFixed(1) +
            (ind.grade ? " (" + ind.grade + ")" : "")),
      ]));
      box.appendChild(el("h4", { text: t("sup.open_cases", "未结案件") + " (" + fmtNum(d.open_total) + ")" }));
      var tbody = el("tbody");
      d.open_cases.forEach(function (c) {
        tbody.appendChild(el("tr", {}, [
          el("td", { text: c.case_no || String(c.id) }),
          el("td", { text: c.category_name || c.category }),
          el("td", { text: c.state_label || c.state }),
          el("td", { text: c.description || "" }),
          el("td", { text: c.reporter_name || "" }),
          el("td", { text: c.reporter_phone || "" }),
        ]));
      });
      box.appendChild(el("table", { class: "sup-cases" }, [tbody]));
      popup.update();
    }).catch(function (err) { box.textContent = String(err.message || err); });
  }

  function loadGrids(map) {
    var range = windowRange();
    var b = map.getBounds();
    var q = new URLSearchParams({
      start: range[0].toISOString(), end: range[1].toISOString(),
      bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(","),
    });
    var hp = filterParams(map);
    return Promise.all([
      getJSON("/api/aggregates/grids?" + q.toString()),
      getJSON("/api/hotspots?" + hp.toString()).catch(function () { return { items: [] }; }),
    ]).then(function (res) {
      var fc = res[0], hs = res[1];
      hotspotIds = {};
      (hs.items || []).forEach(function (h) { hotspotIds[h.id] = h; });
      if (gridLayer) { map.removeLayer(gridLayer); }
      gridLayer = L.geoJSON(fc, {
        style: gridStyle,
        onEachFeature: function (f, layer) {
          // an element, not a string: Leaflet renders string tooltips as HTML (names are data)
          layer.bindTooltip(el("span", { text: String(f.properties.name || f.properties.grid_code || "") }), { sticky: true });
          layer.on("click", function (e) { gridPopup(map, e.latlng, f.properties.grid_id); });
        },
      });
      if ($("sup-show-grids").checked) { gridLayer.addTo(map); gridLayer.bringToBack(); }
      // the count and the outlines come from the same scoped hotspot list (the API counts
      // only the viewer's grids); hotspots outside the view are counted but not drawn
      var n = Object.keys(hotspotIds).length, drawn = drawHotspots(map, fc);
      var hc = $("sup-hotspot-count");
      hc.textContent = (drawn === n ? t("sup.hotspots_n", "热点网格：{n}") : t("sup.hotspots_drawn", "热点网格：{n}（地图上 {m}）"))
        .replace("{n}", fmtNum(n)).replace("{m}", fmtNum(drawn));
      hc.setAttribute("data-count", String(n));
      hc.setAttribute("data-drawn", String(drawn));
    }).catch(showError);
  }

  /* ---------------- overdue list ---------------- */

  function loadOverdue(map) {
    var f = {};
    ["category", "urgency", "source"].forEach(function (name) { f[name] = selected("sup-" + name); });
    return window.GM_SUP_OVERDUE.load(map, f).catch(showError);
  }

  /* ---------------- locations to confirm: confirm.js ---------------- */

  var confirmList = null;
  function loadConfirm(map) {
    if (!confirmList) {
      confirmList = window.GM_SUP_CONFIRM({ el: el, t: t, fmtNum: fmtNum, getJSON: getJSON,
                                            showError: showError, loadGrids: loadGrids });
    }
    return confirmList.load(map);
  }

  /* ---------------- playback ---------------- */

  function buildSteps() {
    var range = windowRange();
    var unit = $("sup-step").value === "hour" ? 36e5 : 864e5;
    var steps = [];
    for (var s = range[0].getTime(); s < range[1].getTime() && steps.length < 24 * 31; s += unit) {
      steps.push([new Date(s), new Date(Math.min(s + unit, range[1].getTime()))]);
    }
    state.steps = steps;
    var slider = $("sup-slider");
    slider.max = String(Math.max(0, steps.length - 1));
    slider.value = "0";
  }

  function showStep(map, i) {
    if (!state.steps.length) { buildSteps(); }
    i = Math.max(0, Math.min(i, state.steps.length - 1));
    state.stepIndex = i;
    $("sup-slider").value = String(i);
    var r = state.steps[i];
    $("sup-step-label").textContent = fmtTime(r[0]) + " – " + fmtTime(r[1]);
    return loadHeat(map, r);
  }

  function stopPlayback() {
    if (state.playing) { clearInterval(state.playing); state.playing = null; }
    $("sup-play").textContent = t("sup.play", "播放");
  }

  /* ---------------- wiring ---------------- */

  function refresh(map) {
    stopPlayback();
    state.stepIndex = null;
    state.steps = [];
    $("sup-step-label").textContent = "";
    // heat first (the first meaningful paint), then the heavier grid indicators,
    // hotspots and the overdue list, so they do not compete with it for the server
    return loadHeat(map).then(function () {
      return Promise.all([loadGrids(map), loadOverdue(map), loadConfirm(map)]);
    });
  }

  function init() {
    var map = findMap();
    if (!map) { showError("map not found"); return; }
    window.GM_SUPERVISOR_MAP = map;
    $("sup-window").addEventListener("change", function () {
      $("sup-custom").hidden = $("sup-window").value !== "custom";
      refresh(map);
    });
    ["sup-start", "sup-end"].forEach(function (id) {
      $(id).addEventListener("change", function () { refresh(map); });
    });
    document.addEventListener("sup-filters-change", function () { refresh(map); });
    $("sup-show-heat").addEventListener("change", function () { toggleHeat(map); });
    $("sup-indicator").addEventListener("change", function () {
      var overdue = $("sup-indicator").value === "overdue_open";
      $("sup-legend-rate").hidden = overdue;
      $("sup-legend-overdue").hidden = !overdue;
      if (gridLayer) { gridLayer.setStyle(gridStyle); }
    });
    $("sup-show-grids").addEventListener("change", function () {
      if (!gridLayer) { return; }
      if ($("sup-show-grids").checked) {
        gridLayer.addTo(map); gridLayer.bringToBack();
        if (hotLayer) { hotLayer.addTo(map); }
      } else { map.removeLayer(gridLayer); if (hotLayer) { map.removeLayer(hotLayer); } }
    });
    $("sup-step").addEventListener("change", function () { stopPlayback(); buildSteps(); });
    $("sup-slider").addEventListener("input", function () { stopPlayback(); showStep(map, Number($("sup-slider").value)); });
    $("sup-prev").addEventListener("click", function () { stopPlayback(); showStep(map, (state.stepIndex || 0) - 1); });
    $("sup-next").addEventListener("click", function () {
      stopPlayback(); showStep(map, state.stepIndex === null ? 0 : state.stepIndex + 1);
    });
    $("sup-play").addEventListener("click", function () {
      if (state.playing) { stopPlayback(); return; }
      buildSteps();
      var i = 0;
      showStep(map, i);
      $("sup-play").textContent = t("sup.pause", "暂停");
      state.playing = setInterval(function () {
        i += 1;
        if (i >= state.steps.length) { stopPlayback(); return; }
        showStep(map, i);
      }, 1200);
    });
    // 刷新: clear every filter, then reload
    $("sup-reset").addEventListener("click", function () {
      if (window.GM_SUP_FILTERS) { window.GM_SUP_FILTERS.reset(); }
      refresh(map);
    });
    var timer = null;
    function onMove() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var heat = state.stepIndex !== null ? showStep(map, state.stepIndex) : loadHeat(map);
        heat.then(function () { loadGrids(map); });
      }, 250);
    }
    refresh(map).then(function () {
      map.on("moveend", onMove);  // after the first load: no duplicate requests at start
      document.body.setAttribute("data-sup-ready", "1");
    });
  }

  if (document.readyState === "complete") { init(); } else { window.addEventListener("load", init); }
})();
