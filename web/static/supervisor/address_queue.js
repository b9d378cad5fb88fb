/* Supervisor page: the 地址待确认 queue (issue #19).
 *
 * Cases whose address could not be placed with confidence are listed; a click shows the
 * candidates as numbered markers on the map with their level, score and reason; the
 * supervisor picks one, or drags a marker to place the case by hand, optionally adding the
 * address to the standard address register; or closes the case without placing it.
 * Every string from data goes into the DOM as text (gm.el → textContent); popups get DOM
 * nodes, never HTML strings.
 */
(function () {
  "use strict";
  const gm = window.gm || {};
  const t = (key, fallback) => (gm.i18n && gm.i18n[key]) || fallback || key;
  const $ = (id) => document.getElementById(id);
  const state = { layer: null, item: null, handMarker: null };

  function theMap() {
    if (gm.map) return gm.map;
    if (window.GM_MAP_NAME && window[window.GM_MAP_NAME]) return window[window.GM_MAP_NAME];
    return null;
  }

  function showError(err) {
    const box = $("addrq-detail");
    box.hidden = false;
    box.appendChild(gm.el("p", { class: "sup-error addrq-error", role: "alert" }, String(err.message || err)));
  }

  function clearMap(map) {
    if (state.layer) { map.removeLayer(state.layer); }
    state.layer = L.layerGroup().addTo(map);
    if (state.handMarker) { map.removeLayer(state.handMarker); state.handMarker = null; }
  }

  function place(item, payload) {
    payload.add_to_register = $("addrq-register") ? $("addrq-register").checked : false;
    return gm.api("/api/address-queue/" + encodeURIComponent(item.id) + "/place", { json: payload })
      .then(function (out) {
        const box = $("addrq-detail");
        box.textContent = "";
        box.appendChild(gm.el("p", { class: "addrq-placed" }, t("addrq.placed", "已定位，事件编号") + " " + out.incident_id));
        state.item = null;
        clearMap(theMap());
        return load();
      }).catch(showError);
  }

  function candidateButton(item, c) {
    const label = "#" + (c.n + 1) + " " + (c.label || "") + " · " + (c.level_label || c.level) +
      " · " + Number(c.score).toFixed(2);
    const btn = gm.el("button", { type: "button", class: "addrq-choose", "data-n": String(c.n) },
      t("addrq.choose", "选择此位置") + ": " + label);
    btn.addEventListener("click", function () { place(item, { candidate: c.n }); });
    return btn;
  }

  function markers(map, item) {
    const pts = [];
    item.candidates.forEach(function (c) {
      if (c.lat === null || c.lon === null) return;
      const m = L.marker([c.lat, c.lon], {
        icon: L.divIcon({ className: "addrq-marker", html: "", iconSize: [26, 26] }),
        title: String(c.n + 1),
      });
      const pop = gm.el("div", { class: "addrq-popup" });
      pop.appendChild(gm.el("b", {}, "#" + (c.n + 1) + " " + (c.label || "")));
      pop.appendChild(gm.el("p", {}, (c.level_label || c.level) + " · " + Number(c.score).toFixed(2)));
      pop.appendChild(gm.el("p", {}, c.reason_text || ""));
      pop.appendChild(candidateButton(item, c));
      m.bindPopup(pop);
      m.on("add", function () {
        const node = m.getElement();
        if (node) {
          node.textContent = String(c.n + 1);
          node.setAttribute("data-n", String(c.n));
          Object.assign(node.style, { background: c.n === 0 ? "#c0392b" : "#e67e22", color: "#fff",
            borderRadius: "13px", textAlign: "center", lineHeight: "26px", fontWeight: "bold",
            border: "2px solid #fff", boxShadow: "0 0 3px #000" });
        }
      });
      m.addTo(state.layer);
      pts.push([c.lat, c.lon]);
    });
    if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.5), { maxZoom: 18 });
  }

  function detail(map, item) {
    state.item = item;
    clearMap(map);
    const box = $("addrq-detail");
    box.hidden = false;
    box.textContent = "";
    box.appendChild(gm.el("h4", { class: "addrq-address" }, item.address));
    const meta = [item.category_code, item.description].filter(Boolean).join(" · ");
    if (meta) box.appendChild(gm.el("p", { class: "addrq-meta" }, meta));
    if (item.reason_text) box.appendChild(gm.el("p", { class: "addrq-reason" }, item.reason_text));
    if (!item.candidates.length) box.appendChild(gm.el("p", {}, t("addrq.no_candidates", "没有候选位置")));
    const list = gm.el("ol", { class: "addrq-candidates" });
    item.candidates.forEach(function (c) {
      const li = gm.el("li", {});
      li.appendChild(candidateButton(item, c));
      if (c.reason_text) li.appendChild(gm.el("small", {}, " " + c.reason_text));
      list.appendChild(li);
    });
    box.appendChild(list);
    const reg = gm.el("label", { class: "addrq-register-label" });
    const cb = gm.el("input", { type: "checkbox", id: "addrq-register" });
    reg.appendChild(cb);
    reg.appendChild(document.createTextNode(" " + t("addrq.add_register", "同时加入标准地址库")));
    box.appendChild(reg);
    const hand = gm.el("button", { type: "button", class: "addrq-hand" }, t("addrq.by_hand", "手动放置：拖动地图上的标记"));
    hand.addEventListener("click", function () { hand.disabled = true; handMarker(map, item, box); });
    box.appendChild(hand);
    const dismiss = gm.el("button", { type: "button", class: "addrq-dismiss" }, t("addrq.dismiss", "不予定位（关闭）"));
    dismiss.addEventListener("click", function () {
      gm.api("/api/address-queue/" + encodeURIComponent(item.id) + "/dismiss", { json: {} })
        .then(function () { box.textContent = ""; box.hidden = true; clearMap(map); return load(); })
        .catch(showError);
    });
    box.appendChild(dismiss);
    markers(map, item);
  }

  /* Place by hand: a draggable marker (map clicks belong to the grid popups of supervisor.js). */
  function handMarker(map, item, box) {
    if (state.handMarker) map.removeLayer(state.handMarker);
    const first = item.candidates.find((c) => c.lat !== null && c.lon !== null);
    const at = first ? L.latLng(first.lat, first.lon) : map.getCenter();
    state.handMarker = L.marker(at, { draggable: true, autoPan: true, title: item.address }).addTo(map);
    const node = state.handMarker.getElement();
    if (node) node.classList.add("addrq-hand-marker");
    const btn = gm.el("button", { type: "button", class: "addrq-place-here" }, t("addrq.place_here", "放置在此处"));
    btn.addEventListener("click", function () {
      const ll = state.handMarker.getLatLng();
      place(item, { lon: ll.lng, lat: ll.lat, display: gm.display === "wgs84" ? "wgs84" : "gcj02" });
    });
    box.appendChild(btn);
  }

  function load() {
    const map = theMap();
    return gm.api(gm.withParams("/api/address-queue", { limit: 200 })).then(function (data) {
      const tbody = $("addrq-body");
      tbody.textContent = "";
      if (!data.items.length) {
        const tr = gm.el("tr", {});
        tr.appendChild(gm.el("td", { colspan: "3" }, t("addrq.none", "没有待确认的地址")));
        tbody.appendChild(tr);
      }
      data.items.forEach(function (item) {
        const tr = gm.el("tr", { class: "sup-overdue-row addrq-row", tabindex: "0", "data-id": String(item.id) });
        tr.appendChild(gm.el("td", {}, item.address));
        tr.appendChild(gm.el("td", {}, item.level_label || "–"));
        tr.appendChild(gm.el("td", {}, item.score === null ? "–" : Number(item.score).toFixed(2)));
        tr.addEventListener("click", function () { if (map) detail(map, item); });
        tr.addEventListener("keydown", function (ev) { if (ev.key === "Enter" && map) detail(map, item); });
        tbody.appendChild(tr);
      });
      // never a silently cut list: "shown / total" when the oldest 200 are only part of it
      $("addrq-total").textContent = data.shown < data.total ? data.shown + " / " + data.total : String(data.total);
    }).catch(showError);
  }

  /* Open cases whose reported point is far from their address's match (flagged at intake). */
  function loadFar(map) {
    let sec = $("addrq-far");
    if (!sec) {
      sec = gm.el("div", { id: "addrq-far", class: "addrq-far" });
      sec.appendChild(gm.el("h4", {}, t("addrq.far", "坐标与地址不符")));
      sec.appendChild(gm.el("p", { class: "sup-hint" }, t("addrq.far_hint", "")));
      const table = gm.el("table", {});
      const head = gm.el("tr", {});
      [t("sup.case_no", "案卷号"), t("addrq.address", "地址"), t("addrq.distance", "相距(米)")]
        .forEach(function (h) { head.appendChild(gm.el("th", {}, h)); });
      table.appendChild(gm.el("thead", {})).appendChild(head);
      table.appendChild(gm.el("tbody", { id: "addrq-far-body" }));
      sec.appendChild(table);
      $("addrq").appendChild(sec);
    }
    return gm.api(gm.withParams("/api/address-queue/far", { limit: 100 })).then(function (data) {
      const tbody = $("addrq-far-body");
      tbody.textContent = "";
      data.items.forEach(function (r) {
        const tr = gm.el("tr", { class: "sup-overdue-row addrq-far-row", tabindex: "0" });
        tr.appendChild(gm.el("td", {}, r.case_no || String(r.id)));
        tr.appendChild(gm.el("td", {}, r.address || ""));
        tr.appendChild(gm.el("td", {}, String(Math.round(r.address_distance_m || 0))));
        tr.addEventListener("click", function () { if (map) map.setView([r.lat, r.lon], 17); });
        tbody.appendChild(tr);
      });
      sec.hidden = data.items.length === 0;
    }).catch(showError);
  }

  function start() {
    const map = theMap();
    if (!$("addrq-body")) return;
    load();
    loadFar(map);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
