/* Supervisor page, 新兴热点 (#17 §4): the emerging-hot-spot classes of the grids as a layer
 * with a legend that explains each class, and the PAI / hit rate of last period's hot spots
 * (Gi* and emerging) for this period's cases.
 *
 * Data: /api/analysis/ehsa?geometry=true (classified grids as GeoJSON, legend in the
 * session's language) and /api/analysis/pai. Every data string reaches the DOM as text.
 */
(function () {
  "use strict";

  var T = window.GM_I18N || {};
  function t(key, fallback) { return T[key] || fallback || key; }
  function fmt(key, fallback, values) {
    return t(key, fallback).replace(/\{(\w+)\}/g, function (m, k) {
      return values[k] === undefined || values[k] === null ? m : String(values[k]);
    });
  }
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function pct(v) { return v === null || v === undefined ? "—" : (100 * v).toFixed(1) + "%"; }

  /** Fill colour per class: reds for hot, blues for cold (darker = stronger, steadier). */
  var COLORS = {
    new_hot: "#f768a1", consecutive_hot: "#fd8d3c", intensifying_hot: "#67000d",
    persistent_hot: "#cb181d", diminishing_hot: "#fc9272", sporadic_hot: "#fed976",
    oscillating_hot: "#ae017e", historical_hot: "#d9d9d9",
    new_cold: "#9ecae1", consecutive_cold: "#41b6c4", intensifying_cold: "#08306b",
    persistent_cold: "#2171b5", diminishing_cold: "#c6dbef", sporadic_cold: "#ccece6",
    oscillating_cold: "#6a51a3", historical_cold: "#f0f0f0"
  };
  function outline(code) { return /_hot$/.test(code) ? "#7f0000" : "#08306b"; }

  function findMap() {
    if (window.gm && window.gm.map) { return window.gm.map; }
    for (var k in window) {
      if (k.indexOf("map_") === 0 && window.L && window[k] instanceof L.Map) { return window[k]; }
    }
    return null;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error(body && body.error ? body.error : String(r.status)); }
          return body;
        });
      });
  }

  var layer = null, legendByCode = {}, seq = 0;

  function popupNode(p) {
    var info = legendByCode[p["class"]] || {};
    var box = el("div", "sup-popup sup-ehsa-popup");
    box.appendChild(el("h3", null, info.label || p["class"]));
    box.appendChild(el("p", "sup-hint", info.description || ""));
    var table = el("table");
    [[t("ehsa.grid", "网格"), p.grid_code], [t("ehsa.cases", "案件"), p.cases],
     [t("ehsa.hot_steps", "显著热点期数"), p.hot_steps],
     [t("ehsa.cold_steps", "显著冷点期数"), p.cold_steps],
     [t("ehsa.trend", "趋势 z（p）"), p.trend_z + " (" + Number(p.trend_p).toFixed(3) + ")"]
    ].forEach(function (row) {
      var tr = el("tr");
      tr.appendChild(el("th", null, row[0]));
      tr.appendChild(el("td", null, row[1]));
      table.appendChild(tr);
    });
    box.appendChild(table);
    return box;
  }

  function drawLegend(body) {
    var ul = $("sup-ehsa-legend");
    ul.textContent = "";
    ul.style.listStyle = "none";
    ul.style.padding = "0";
    ul.style.margin = "4px 0";
    var counts = body.summary.classes;
    body.legend.forEach(function (c) {
      legendByCode[c.code] = c;
      if (c.code === "no_pattern") { return; }
      var li = el("li", "sup-ehsa-item" + (counts[c.code] ? "" : " sup-ehsa-empty"));
      li.setAttribute("data-class", c.code);
      var sw = el("span", "sup-sw");
      sw.style.background = COLORS[c.code];
      sw.style.border = "1px solid " + outline(c.code);
      li.appendChild(sw);
      li.appendChild(el("strong", null, c.label));
      li.appendChild(el("span", "sup-ehsa-n", " " + (counts[c.code] || 0)));
      var desc = el("span", "sup-hint sup-ehsa-desc", c.description);
      desc.style.display = "block";
      desc.style.margin = "0 0 3px 22px";
      li.appendChild(desc);
      li.title = c.label_en;
      if (!counts[c.code]) { li.style.opacity = "0.55"; }
      ul.appendChild(li);
    });
  }

  function drawLayer(map, fc) {
    if (layer) { map.removeLayer(layer); layer = null; }
    if (!map.getPane("supEhsa")) {
      var pane = map.createPane("supEhsa");
      pane.style.zIndex = "420";
    }
    layer = L.geoJSON(fc, {
      pane: "supEhsa",
      style: function (f) {
        var c = f.properties["class"];
        return { color: outline(c), weight: 1.5, fillColor: COLORS[c] || "#ffffff",
                 fillOpacity: 0.6, className: "sup-ehsa-grid sup-ehsa-" + c };
      },
      onEachFeature: function (f, lyr) {
        lyr.on("click", function (e) {
          L.popup({ maxWidth: 360 }).setLatLng(e.latlng).setContent(popupNode(f.properties))
            .openOn(map);
        });
      }
    });
    if ($("sup-show-ehsa").checked) { layer.addTo(map); }
  }

  function paiLine(r) {
    if (r.hit_rate === null) { return fmt("ehsa.pai_none", "{period} 起一期没有案件", r); }
    var values = { predicted_from: r.predicted_from, period: r.period, area: pct(r.area_share),
                   hit: pct(r.hit_rate), n: r.cases_hot, total: r.cases,
                   pai: r.pai === null ? "—" : r.pai.toFixed(2) };
    return fmt("ehsa.pai_" + r.method, "", values);
  }

  function loadPai(step) {
    return getJSON("/api/analysis/pai?step=" + step).then(function (body) {
      body.items.forEach(function (r) {
        var box = $(r.method === "gi" ? "sup-pai" : "sup-ehsa-pai");
        box.textContent = paiLine(r);
        box.setAttribute("data-pai", r.pai === null ? "" : String(r.pai));
        box.setAttribute("data-hit-rate", r.hit_rate === null ? "" : String(r.hit_rate));
      });
    });
  }

  function load(map) {
    var step = $("sup-ehsa-step").value;
    var mine = ++seq;
    var status = $("sup-ehsa-status");
    status.textContent = t("ehsa.loading", "计算中…");
    var ehsa = getJSON("/api/analysis/ehsa?geometry=true&step=" + step).then(function (body) {
      if (mine !== seq) { return; }
      var s = body.summary;
      status.textContent = fmt("ehsa.status", "", {
        first: s.first, last: s.last, n_steps: s.n_steps, n_grids: s.n_grids, cases: s.cases,
        step: t("ehsa." + s.step, s.step) }) + "；" + fmt("ehsa.method", "", { alpha: s.alpha });
      drawLegend(body);
      drawLayer(map, body.features);
      if (!body.features.features.length) { status.textContent += "；" + t("ehsa.none", ""); }
      $("sup-ehsa").setAttribute("data-grids", String(body.features.features.length));
    });
    return Promise.all([ehsa, loadPai(step)]).catch(function (err) {
      status.textContent = err.message;
    }).then(function () { $("sup-ehsa").setAttribute("data-ready", "1"); });
  }

  function init() {
    var map = findMap();
    if (!map || !$("sup-ehsa")) { return; }
    $("sup-show-ehsa").addEventListener("change", function () {
      if (!layer) { return; }
      if (this.checked) { layer.addTo(map); } else { map.removeLayer(layer); }
    });
    $("sup-ehsa-step").addEventListener("change", function () {
      $("sup-ehsa").removeAttribute("data-ready");
      load(map);
    });
    load(map);
  }

  if (document.readyState === "complete") { init(); } else { window.addEventListener("load", init); }
})();
