/* Officer page: the brush (刷选). A map toolbar button next to the drawing tools; while it
 * is on, pressing and dragging over the map paints the units under the brush (a circle
 * of RADIUS screen pixels, outlined in red as they are painted); releasing moves every
 * painted unit into the target grid in one edit (one undo step). A press without a drag
 * paints the units under the brush, like a fat click. Esc or the button again leaves the
 * mode; map panning is off while it is on (the wheel still zooms). Unit names never
 * reach the DOM here; labels come from the page's catalogue (textContent). */
(function () {
  "use strict";
  const RADIUS = 14;  // px

  /** Make the brush for ctx = {map, t, status, units(), unitLayer(), moveUnits(units), notDraft()}. */
  window.GM_OFF_BRUSH = function (ctx) {
    const map = ctx.map;
    let on = false, painting = false, painted = new Map(), index = [], cursor = null, pending = 0;
    let button = null;

    /** Units as [bounds, outer rings as [[lon, lat]…], key, feature] for fast hit tests. */
    function buildIndex() {
      index = [];
      for (const f of (ctx.units() || { features: [] }).features) {
        const g = f.geometry;
        const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
        index.push({ bounds: L.geoJSON(f).getBounds(), rings: polys.map((p) => p[0]),
                     key: f.properties.unit_type + ":" + f.properties.unit_id, f });
      }
    }
    function inRing(ring, x, y) {
      let c = false;
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i], [xj, yj] = ring[j];
        if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) c = !c;
      }
      return c;
    }
    /** Units under the brush at container point p: the centre and 8 points on the rim. */
    function hits(p) {
      const samples = [p];
      for (let k = 0; k < 8; k++) {
        const a = k * Math.PI / 4;
        samples.push(L.point(p.x + RADIUS * Math.cos(a), p.y + RADIUS * Math.sin(a)));
      }
      const pts = samples.map((s) => map.containerPointToLatLng(s));
      const box = L.latLngBounds(pts);
      const out = [];
      for (const u of index) {
        if (!u.bounds.intersects(box)) continue;
        if (pts.some((ll) => u.rings.some((r) => inRing(r, ll.lng, ll.lat)))) out.push(u);
      }
      return out;
    }
    function paintAt(p) {
      for (const u of hits(p)) {
        if (painted.has(u.key)) continue;
        painted.set(u.key, [u.f.properties.unit_type, u.f.properties.unit_id]);
        const layer = findLayer(u.key);
        if (layer) layer.setStyle({ color: "#d0021b", weight: 2.5, fillOpacity: 0.45 });
      }
      if (button) button.dataset.painted = String(painted.size);
    }
    function findLayer(key) {
      let found = null;
      const ul = ctx.unitLayer();
      if (ul) ul.eachLayer((l) => { const p = l.feature && l.feature.properties; if (p && p.unit_type + ":" + p.unit_id === key) found = l; });
      return found;
    }
    const pointOf = (e) => map.mouseEventToContainerPoint(e);

    function down(e) {
      if (!on || e.button > 0 || e.target.closest(".leaflet-control-container")) return;
      if (ctx.notDraft()) { setOn(false); return; }
      e.preventDefault();
      painting = true; painted = new Map();
      buildIndex();
      paintAt(pointOf(e));
      map.getContainer().setPointerCapture && e.pointerId !== undefined && map.getContainer().setPointerCapture(e.pointerId);
    }
    function move(e) {
      if (!on) return;
      const p = pointOf(e);
      if (cursor) cursor.setLatLng(map.containerPointToLatLng(p));
      if (!painting || pending) return;
      pending = requestAnimationFrame(() => { pending = 0; paintAt(p); });
    }
    async function up() {
      if (!painting) return;
      painting = false;
      if (pending) { cancelAnimationFrame(pending); pending = 0; }
      const units = Array.from(painted.values());
      painted = new Map();
      if (!units.length) { ctx.status(ctx.t("off.brush_none"), "note"); return; }
      await ctx.moveUnits(units);  // redraws the units: the red outlines go with the old layer
    }

    function setOn(value) {
      on = value;
      const box = map.getContainer();
      box.classList.toggle("off-brushing", on);
      if (button) { button.classList.toggle("active", on); button.setAttribute("aria-pressed", String(on)); }
      if (on) {
        map.dragging.disable();
        cursor = L.circleMarker(map.getCenter(), { radius: RADIUS, color: "#d0021b", weight: 1.5, dashArray: "3 3",
          fill: false, interactive: false }).addTo(map);
        ctx.status(ctx.t("off.brush_hint"), "note");
      } else {
        map.dragging.enable();
        if (cursor) { cursor.remove(); cursor = null; }
        painting = false;
      }
    }

    const Control = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        const bar = L.DomUtil.create("div", "leaflet-bar off-brush-bar");
        button = L.DomUtil.create("a", "off-brush-btn", bar);
        button.href = "#"; button.id = "off-brush";
        button.setAttribute("role", "button"); button.setAttribute("aria-pressed", "false");
        button.title = ctx.t("off.brush_title");
        button.textContent = ctx.t("off.brush");
        L.DomEvent.disableClickPropagation(bar);
        L.DomEvent.on(button, "click", (e) => { L.DomEvent.preventDefault(e); if (!on && ctx.notDraft()) return; setOn(!on); });
        return bar;
      },
    });
    map.addControl(new Control());
    const box = map.getContainer();
    box.addEventListener("pointerdown", down, true);
    box.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
    document.addEventListener("keydown", (e) => { if (e.key === "Escape" && on) setOn(false); });
    return { active: () => on, setOn };
  };
})();
