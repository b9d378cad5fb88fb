/* Supervisor page: 边界待确认 — open cases near a grid boundary or outside every grid
 * (属地兜底) whose location no supervisor has confirmed; click a row, choose the grid.
 * window.GM_SUP_CONFIRM(helpers) → {load(map)}; helpers from supervisor.js (el, t, fmtNum,
 * getJSON, showError, loadGrids). Data strings go into the DOM as text only. */
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }

  window.GM_SUP_CONFIRM = function (h) {
    var el = h.el, t = h.t, fmtNum = h.fmtNum, getJSON = h.getJSON, showError = h.showError,
      loadGrids = h.loadGrids;


    function postJSON(url, body) {
      var token = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
      return fetch(url, {
        method: "POST", credentials: "same-origin", body: JSON.stringify(body),
        headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": token },
      }).then(function (r) {
        return r.json().then(function (b) {
          if (!r.ok) { throw new Error(b && b.error ? b.error : String(r.status)); }
          return b;
        });
      });
    }

    function confirmPopup(map, f) {
      var pr = f.properties, c = f.geometry.coordinates;
      var box = el("div", { class: "sup-popup sup-confirm-popup" }, [el("p", { text: t("sup.loading", "加载中…") })]);
      map.setView([c[1], c[0]], Math.max(map.getZoom(), 17));
      var popup = L.popup({ minWidth: 300, maxWidth: 380 }).setLatLng([c[1], c[0]]).setContent(box)
        .openOn(map);
      getJSON("/api/incidents/" + encodeURIComponent(f.id) + "/location").then(function (d) {
        box.textContent = "";
        box.appendChild(el("b", { text: (pr.case_no || String(f.id)) + " " + (pr.category_name || "") }));
        box.appendChild(el("p", { text: pr.description || "" }));
        d.candidates.forEach(function (cand) {
          var label = t("sup.confirm_in", "确认属于") + " " + (cand.grid_name || cand.grid_code) +
            " (" + cand.grid_code + ")" + (cand.inside ? " · " + t("sup.inside", "在网格内") : " · " +
            fmtNum(cand.distance_m) + " m") + (cand.current ? " · " + t("sup.current", "当前") : "");
          var btn = el("button", { type: "button", class: "sup-confirm-btn", text: label });
          btn.addEventListener("click", function () {
            postJSON("/api/incidents/" + encodeURIComponent(f.id) + "/location", { grid_id: cand.grid_id })
              .then(function () {
                box.textContent = "";
                box.appendChild(el("p", { class: "sup-confirmed", text: t("sup.confirmed", "已确认") + ": " + cand.grid_code }));
                popup.update();
                return Promise.all([loadConfirm(map), loadGrids(map)]);
              }).catch(showError);
          });
          box.appendChild(el("div", {}, [btn]));
        });
        popup.update();  // size and pan to the filled content
      }).catch(function (err) { box.textContent = String(err.message || err); });
    }

    function loadConfirm(map) {
      var p = new URLSearchParams({ window: "all", page_size: "50" });
      return getJSON("/api/incidents/to-confirm?" + p.toString()).then(function (fc) {
        var tbody = $("sup-confirm-body");
        tbody.textContent = "";
        fc.features.forEach(function (f) {
          var pr = f.properties;
          var dist = pr.located_by === "nearest_grid" ? pr.grid_distance_m : pr.boundary_distance_m;
          var tr = el("tr", { class: "sup-overdue-row sup-confirm-row", tabindex: "0" }, [
            el("td", { text: pr.case_no || String(f.id) }),
            el("td", { text: pr.category_name || pr.category }),
            el("td", { text: pr.grid_code || "" }),
            el("td", { text: dist == null ? "" : fmtNum(Math.round(dist)) }),
          ]);
          tr.addEventListener("click", function () { confirmPopup(map, f); });
          tbody.appendChild(tr);
        });
        $("sup-confirm-total").textContent = fmtNum(fc.total);
      }).catch(showError);
    }

    return { load: loadConfirm };
  };
})();
