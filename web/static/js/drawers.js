/* Phone and tablet layout (issue #16; styles in css/layout.css): the header's menu button and
 * the side panels as drawers. Included by base.html on every page; no inline handlers.
 *
 * A side panel is any of .gm-side (planner), .sup-panel (supervisor), .off-panel (officer) or
 * [data-gm-drawer] (case list). Each gets class gm-drawer, a toggle button over the map and a close button;
 * Esc or a tap on the backdrop closes it. Above 900 px the buttons are hidden by CSS and the
 * panels stay where the page put them. Texts from window.GM_I18N (layout.*). */
(function () {
  "use strict";
  var I = window.GM_I18N || {};
  function tx(key, fallback) { return I[key] || fallback; }
  var PANELS = ".gm-side, .sup-panel, .off-panel, [data-gm-drawer]";

  function menu() {
    var top = document.querySelector(".gm-top");
    var nav = top && top.querySelector(".gm-nav");
    if (!top || !nav) { return; }
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "gm-menu-btn";
    btn.id = "gm-menu-btn";
    btn.setAttribute("aria-expanded", "false");
    btn.setAttribute("aria-controls", "gm-nav");
    if (!nav.id) { nav.id = "gm-nav"; }
    btn.textContent = "☰ " + tx("layout.menu", "菜单");
    var brand = top.querySelector(".gm-brand");
    top.insertBefore(btn, brand ? brand.nextSibling : top.firstChild);
    function setMenu(open) {
      document.body.classList.toggle("gm-menu-open", open);
      btn.setAttribute("aria-expanded", open ? "true" : "false");
      document.body.style.setProperty("--gm-nav-h", open ? nav.offsetHeight + "px" : "0px");
    }
    btn.addEventListener("click", function () {
      setMenu(!document.body.classList.contains("gm-menu-open"));
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && document.body.classList.contains("gm-menu-open")) { setMenu(false); }
    });
  }

  function drawer(panel, index) {
    var host = panel.parentNode;
    if (!host || panel.classList.contains("gm-drawer")) { return; }
    if (!panel.id) { panel.id = "gm-drawer-" + index; }
    panel.classList.add("gm-drawer");
    var label = panel.getAttribute("data-gm-drawer-label") || panel.getAttribute("aria-label") ||
      tx("layout.panel", "面板");
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "gm-drawer-toggle";
    toggle.setAttribute("aria-controls", panel.id);
    toggle.setAttribute("aria-expanded", "false");
    toggle.textContent = "☰ " + label;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "gm-drawer-close";
    close.textContent = "✕ " + tx("layout.close", "关闭");
    var backdrop = document.createElement("div");
    backdrop.className = "gm-drawer-backdrop";
    function set(open) {
      panel.classList.toggle("gm-drawer-open", open);
      backdrop.classList.toggle("gm-drawer-open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) { close.focus({ preventScroll: true }); }
    }
    toggle.addEventListener("click", function () { set(!panel.classList.contains("gm-drawer-open")); });
    close.addEventListener("click", function () { set(false); toggle.focus({ preventScroll: true }); });
    backdrop.addEventListener("click", function () { set(false); });
    // A row that zooms the map (.gm-row-click) or any [data-gm-close-drawer] shows the map.
    panel.addEventListener("click", function (e) {
      var t = e.target;
      if (t && t.closest && t.closest("tr.gm-row-click, [data-gm-close-drawer]") &&
          window.matchMedia("(max-width: 900px)").matches) { set(false); }
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && panel.classList.contains("gm-drawer-open")) { set(false); }
    });
    panel.insertBefore(close, panel.firstChild);
    host.insertBefore(backdrop, panel.nextSibling);
    host.insertBefore(toggle, backdrop.nextSibling);
    // [data-gm-drawer-open]: a page whose panel is what people come for (the case list)
    // starts with it open on a phone; the map is one tap away.
    if (panel.hasAttribute("data-gm-drawer-open") && window.matchMedia("(max-width: 900px)").matches) {
      panel.classList.add("gm-drawer-open");
      backdrop.classList.add("gm-drawer-open");
      toggle.setAttribute("aria-expanded", "true");
    }
  }

  function init() {
    menu();
    var main = document.querySelector(".gm-main") || document.body;
    Array.prototype.forEach.call(main.querySelectorAll(PANELS), drawer);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
