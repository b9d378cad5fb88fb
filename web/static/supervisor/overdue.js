/* Supervisor page: overdue cases (超期案件).
 *
 * The side panel shows the count and the five most overdue cases; the whole table opens in
 * a wide drawer over the map (case no., category, grid, due, overdue by, description) with
 * sortable columns. XLSX export is the case workspace's server export
 * (/api/cases/export?overdue=1 with the same filters); CSV exports the rows as shown.
 * Data strings go into the DOM as text only.
 * Public: window.GM_SUP_OVERDUE.load(map, filters) → Promise.
 */
(function () {
  "use strict";
  var cfg = window.GM_SUPERVISOR || {};
  var T = window.GM_I18N || {};
  function t(key, fallback) { return T[key] || fallback || key; }
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    return n;
  }
  function fmtTime(v) {
    if (!v) { return "–"; }
    var d = new Date(v);
    return isNaN(d) ? String(v) : d.toLocaleString(cfg.locale || "zh-CN", { hour12: false });
  }
  /** Hours past the deadline as "3天4小时". */
  function overdueText(ms) {
    if (ms === null || isNaN(ms)) { return "–"; }
    var h = Math.max(0, Math.floor(ms / 36e5));
    if (h < 24) { return t("sup.hours", "{h}小时").replace("{h}", String(h)); }
    return t("sup.days_hours", "{d}天{h}小时").replace("{d}", String(Math.floor(h / 24))).replace("{h}", String(h % 24));
  }

  var rows = [], sortKey = "overdue", desc = true, mapRef = null;

  function toRow(f) {
    var p = f.properties, due = p.due_at ? new Date(p.due_at).getTime() : NaN;
    return {
      f: f, case_no: p.case_no || String(f.id), category: p.category_name || p.category || "",
      grid: p.grid_code || "", due_at: p.due_at, overdue: isNaN(due) ? null : Date.now() - due,
      description: p.description || "",
    };
  }

  function cmp(a, b) {
    var x = a[sortKey], y = b[sortKey];
    if (sortKey === "due_at") { x = x ? new Date(x).getTime() : 0; y = y ? new Date(y).getTime() : 0; }
    var r = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y), "zh-CN");
    return desc ? -r : r;
  }

  function focus(r) {
    if (!mapRef || !r.f.geometry) { return; }
    var c = r.f.geometry.coordinates;
    mapRef.setView([c[1], c[0]], Math.max(mapRef.getZoom(), 17));
    var box = el("div");
    box.appendChild(el("a", { href: "/cases/" + encodeURIComponent(r.f.id) }, r.case_no));
    box.appendChild(el("br"));
    box.appendChild(el("span", {}, r.description));
    L.popup().setLatLng([c[1], c[0]]).setContent(box).openOn(mapRef);
  }

  function render() {
    rows.sort(cmp);
    var tbody = $("sup-overdue-body");
    tbody.textContent = "";
    rows.forEach(function (r) {
      var tr = el("tr", { class: "sup-overdue-row", tabindex: "0" });
      [r.case_no, r.category, r.grid, fmtTime(r.due_at), overdueText(r.overdue), r.description]
        .forEach(function (v, i) { tr.appendChild(el("td", i === 4 ? { class: "sup-num" } : {}, i === 0 ? null : v)); });
      var open = el("a", { href: "/cases/" + encodeURIComponent(r.f.id), class: "sup-case-link" }, r.case_no);
      open.addEventListener("click", function (e) { e.stopPropagation(); });  // the case page, not the map
      tr.firstChild.appendChild(open);
      tr.addEventListener("click", function () { focus(r); });
      tr.addEventListener("keydown", function (e) { if (e.key === "Enter") { focus(r); } });
      tbody.appendChild(tr);
    });
    document.querySelectorAll("#sup-overdue-table th button[data-sort]").forEach(function (b) {
      var on = b.getAttribute("data-sort") === sortKey;
      b.textContent = b.textContent.replace(/ [▲▼]$/, "") + (on ? (desc ? " ▼" : " ▲") : "");
      if (on) { b.setAttribute("aria-sort", desc ? "descending" : "ascending"); } else { b.removeAttribute("aria-sort"); }
    });
    var brief = $("sup-overdue-brief");
    brief.textContent = "";
    rows.slice().sort(function (a, b) { return (b.overdue || 0) - (a.overdue || 0); }).slice(0, 5).forEach(function (r) {
      var li = el("li", { class: "sup-overdue-row", tabindex: "0" });
      li.appendChild(el("span", { class: "sup-brief-no" }, r.case_no));
      li.appendChild(el("span", { class: "sup-brief-for" }, overdueText(r.overdue)));
      li.appendChild(el("span", { class: "sup-brief-cat" }, r.category));
      li.addEventListener("click", function () { focus(r); });
      brief.appendChild(li);
    });
  }

  function exportHref(filters) {
    var p = new URLSearchParams({ overdue: "1", sort: "due_at" });
    Object.keys(filters).forEach(function (k) { if (filters[k].length) { p.set(k, filters[k].join(",")); } });
    return "/api/cases/export?" + p.toString();
  }

  function load(map, filters) {
    mapRef = map;
    var p = new URLSearchParams({ window: "all", page_size: "500" });
    Object.keys(filters).forEach(function (k) { if (filters[k].length) { p.set(k, filters[k].join(",")); } });
    ["sup-overdue-xlsx", "sup-drawer-xlsx"].forEach(function (id) { $(id).href = exportHref(filters); });
    return window.gm.api("/api/incidents/overdue?" + p.toString()).then(function (fc) {
      rows = fc.features.map(toRow);
      render();
      var n = Number(fc.total).toLocaleString(cfg.locale || "zh-CN");
      $("sup-overdue-total").textContent = n;
      $("sup-drawer-total").textContent = n;
      $("sup-overdue").setAttribute("data-total", String(fc.total));
    });
  }

  function openDrawer(open) {
    $("sup-drawer").hidden = !open;
    $("sup-overdue-open").setAttribute("aria-expanded", open ? "true" : "false");
    if (open) { $("sup-drawer-close").focus(); }
  }

  $("sup-overdue-open").addEventListener("click", function () { openDrawer($("sup-drawer").hidden); });
  $("sup-drawer-close").addEventListener("click", function () { openDrawer(false); $("sup-overdue-open").focus(); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && !$("sup-drawer").hidden) { openDrawer(false); } });
  document.querySelectorAll("#sup-overdue-table th button[data-sort]").forEach(function (b) {
    b.addEventListener("click", function () {
      var k = b.getAttribute("data-sort");
      if (k === sortKey) { desc = !desc; } else { sortKey = k; desc = k === "overdue"; }
      render();
    });
  });
  $("sup-print").addEventListener("click", function () { window.print(); });
  window.addEventListener("beforeprint", function () {
    $("sup-print-date").textContent = new Date().toLocaleString(cfg.locale || "zh-CN", { hour12: false });
  });

  window.GM_SUP_OVERDUE = { load: load };
})();
