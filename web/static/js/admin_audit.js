/* /admin/audit: a grid edit's before (red, dashed) and after (blue) geometry on a small map,
   over our own basemap (roads, buildings, water, green, names; basemap.js) with its
   OpenStreetMap attribution. The GeoJSON comes from the page's JSON data block; names
   reach the DOM as text only. */
(function () {
  "use strict";
  var box = document.getElementById("adm-edit-map");
  var data = document.getElementById("adm-edit-geometry");
  if (!box || !data || !window.L) { return; }
  var geo = JSON.parse(data.textContent || "{}");
  var map = L.map(box, { zoomControl: true, attributionControl: true, maxZoom: 20 });
  L.control.scale({ metric: true, imperial: false }).addTo(map);
  var gm = window.gm;
  if (gm && gm.ownBasemap) {
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution(gm.t("map.attribution"));
  }
  function layer(fc, style) {
    return L.geoJSON(fc, {
      style: style,
      onEachFeature: function (f, lyr) {
        var p = f.properties || {};
        var el = document.createElement("span");
        el.textContent = (p.grid_code || "") + " " + (p.name || "");
        lyr.bindTooltip(el, { sticky: true });
      }
    }).addTo(map);
  }
  var before = layer(geo.before, { color: "#b42318", weight: 2, dashArray: "6 4", fillOpacity: 0.15 });
  var after = layer(geo.after, { color: "#1d4e89", weight: 2, fillOpacity: 0.25 });
  var bounds = before.getBounds();
  if (after.getBounds().isValid()) { bounds = bounds.isValid() ? bounds.extend(after.getBounds()) : after.getBounds(); }
  if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); } else { map.setView([39.9, 116.4], 12); }
  // after the first view: the basemap's labels are fetched for it
  if (gm && gm.ownBasemap && gm.ownBasemap(map)) { box.setAttribute("data-basemap", "own"); }
  box.setAttribute("data-ready", "1");
})();
