/* Supervisor page: checkbox dropdown filters (details.sup-dd[data-filter]).
 *
 * Nothing checked means no filter (全部). Each dropdown has 全部 (check every box) and
 * 清除 (uncheck every box); category boxes are grouped under their 大类, whose box checks
 * or clears the group (indeterminate when part of it is checked). A change fires one
 * "sup-filters-change" event on document (after a short pause, so 全部 is one reload).
 * Public: window.GM_SUP_FILTERS.selected(name) → [codes], .reset(), .summary().
 */
(function () {
  "use strict";
  var T = window.GM_I18N || {};
  function t(key, fallback) { return T[key] || fallback || key; }

  function boxes(dd) {
    return Array.prototype.slice.call(dd.querySelectorAll("input[type=checkbox][data-value]"));
  }
  function dropdowns() {
    return Array.prototype.slice.call(document.querySelectorAll("details.sup-dd[data-filter]"));
  }
  function find(name) { return document.querySelector('details.sup-dd[data-filter="' + name + '"]'); }

  function selected(name) {
    var dd = find(name);
    if (!dd) { return []; }
    var all = boxes(dd), on = all.filter(function (b) { return b.checked; });
    if (on.length === all.length) { return []; }  // every box = no filter
    return on.map(function (b) { return b.getAttribute("data-value"); });
  }

  function syncGroups(dd) {
    dd.querySelectorAll("input.sup-dd-group-box").forEach(function (g) {
      var kids = boxes(dd).filter(function (b) { return b.getAttribute("data-parent") === g.getAttribute("data-group"); });
      var on = kids.filter(function (b) { return b.checked; }).length;
      g.checked = on > 0 && on === kids.length;
      g.indeterminate = on > 0 && on < kids.length;
    });
  }

  function label(dd) {
    var all = boxes(dd), on = all.filter(function (b) { return b.checked; });
    var out = dd.querySelector(".sup-dd-value");
    if (!on.length || on.length === all.length) { out.textContent = t("sup.all", "全部"); }
    else if (on.length <= 2) {
      out.textContent = on.map(function (b) { return b.getAttribute("data-label"); }).join("、");
    } else { out.textContent = t("sup.n_selected", "已选 {n} 项").replace("{n}", String(on.length)); }
    dd.classList.toggle("sup-dd-active", on.length > 0 && on.length < all.length);
  }

  var timer = null;
  function changed(dd) {
    syncGroups(dd);
    label(dd);
    clearTimeout(timer);
    timer = setTimeout(function () { document.dispatchEvent(new CustomEvent("sup-filters-change")); }, 150);
  }

  function setAll(dd, value) {
    boxes(dd).forEach(function (b) { b.checked = value; });
    changed(dd);
  }

  function reset() {
    dropdowns().forEach(function (dd) {
      boxes(dd).forEach(function (b) { b.checked = false; });
      syncGroups(dd);
      label(dd);
      dd.open = false;
    });
  }

  /** One line per active filter ("类别：路灯、井盖") for print and export captions. */
  function summary() {
    return dropdowns().filter(function (dd) { return selected(dd.getAttribute("data-filter")).length; })
      .map(function (dd) {
        return dd.querySelector(".sup-dd-label").textContent + "：" + dd.querySelector(".sup-dd-value").textContent;
      });
  }

  function wire(dd) {
    dd.querySelector(".sup-dd-all").addEventListener("click", function () { setAll(dd, true); });
    dd.querySelector(".sup-dd-none").addEventListener("click", function () { setAll(dd, false); });
    dd.addEventListener("change", function (e) {
      var box = e.target;
      if (box.classList && box.classList.contains("sup-dd-group-box")) {
        boxes(dd).forEach(function (b) {
          if (b.getAttribute("data-parent") === box.getAttribute("data-group")) { b.checked = box.checked; }
        });
      }
      changed(dd);
    });
    label(dd);
  }

  // close an open dropdown on a click elsewhere or on Esc
  document.addEventListener("click", function (e) {
    dropdowns().forEach(function (dd) { if (dd.open && !dd.contains(e.target)) { dd.open = false; } });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { dropdowns().forEach(function (dd) { dd.open = false; }); }
  });

  dropdowns().forEach(wire);
  window.GM_SUP_FILTERS = { selected: selected, reset: reset, summary: summary };
})();
