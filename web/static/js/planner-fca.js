/* Planner page: the capacity layer (two-step floating catchment, 2SFCA). Estates or
 * communities coloured by the supply per 1,000 residents of the type's target group
 * (kindergarten places per 1,000 children 3-6, elderly-care beds per 1,000 residents 60+ …)
 * against the type's reference value, with a legend and a popup (DOM nodes only; a
 * community's popup links to its profile). Data: /api/access/fca. */
(function () {
  "use strict";
  const map = gm.map, t = gm.t;
  const $ = (id) => document.getElementById(id);
  const typeSel = $("fca-type"), decaySel = $("fca-decay"), levelSel = $("level");
  if (!typeSel) return;
  const UNIT = { kindergarten: "places", nursery: "places", nursing_home: "beds", elderly_day_care: "beds" };
  const GROUP = { kindergarten: "age_3_6", nursery: "age_0_3", nursing_home: "age_60_plus", elderly_day_care: "age_60_plus" };
  const COLORS = ["#bdbdbd", "#d7301f", "#fc8d59", "#fdcc8a", "#78c679", "#238443"];
  function color(p) {
    if (!p || p.population === null || p.population === undefined || p.population <= 0) return COLORS[0];
    const r = p.ratio || 0;
    if (r <= 0) return COLORS[1];
    if (r < 0.5) return COLORS[2];
    if (r < 1) return COLORS[3];
    if (r < 1.5) return COLORS[4];
    return COLORS[5];
  }
  let target = null;
  const legend = gm.legend(map, "", [], "bottomleft");
  function title() {
    const type = typeSel.value;
    return t("fca.legend").replace("{unit}", t("fca.unit." + UNIT[type])).replace("{group}", t("fca.group." + GROUP[type]));
  }
  function updateLegend() {
    if (!typeSel.value) { legend.remove(); return; }
    if (!legend._map) legend.addTo(map);
    const v = target || 0, f = (x) => gm.fmt(x);
    legend.set(title() + " · " + t("fca.target").replace("{v}", f(v)), [
      [COLORS[5], "≥ " + f(1.5 * v)], [COLORS[4], f(v) + "–" + f(1.5 * v)],
      [COLORS[3], f(0.5 * v) + "–" + f(v)], [COLORS[2], "0–" + f(0.5 * v)],
      [COLORS[1], "0"], [COLORS[0], t("fca.none")]]);
  }
  function popup(f) {
    const p = f.properties;
    const rows = [[title(), gm.fmt(p.per_1000, 1)],
      [t("fca.population"), gm.fmt(p.population, 1) + (p.estimated_share ? " (" + t("fca.estimated") + " " + gm.pct(p.estimated_share, 0) + ")" : "")],
      [t("fca.capacity"), gm.fmt(p.capacity) + " · " + gm.fmt(p.facilities)]];
    const box = gm.popup(p.name || p.code || "#" + p.id, rows, p.synthetic);
    if (levelSel.value === "community" && p.code) {
      box.appendChild(gm.el("a", { href: "/profiles/" + encodeURIComponent(p.code), class: "gm-profile-link" }, t("profiles.open")));
    }
    return box;
  }
  const layer = gm.bboxLayer(map, "/api/access/fca", {
    params: () => ({ type: typeSel.value, level: levelSel.value, decay: decaySel.value }),
    style: (f) => ({ color: "#444", weight: 1, fillColor: color(f.properties), fillOpacity: 0.72 }),
    tooltip: (f) => (f.properties.name || "") + " · " + gm.fmt(f.properties.per_1000, 1),
    popup: popup,
    onData: (fc) => { target = fc.target_per_1000; layer.bringToFront(); updateLegend(); },
  });
  function sync() {
    if (typeSel.value) { if (map.hasLayer(layer)) layer.refresh(); else layer.addTo(map); }
    else if (map.hasLayer(layer)) map.removeLayer(layer);
    updateLegend();
  }
  window.gmPlannerFca = { layer: layer };
  for (const sel of [typeSel, decaySel, levelSel]) sel.addEventListener("change", sync);
  sync();
})();
