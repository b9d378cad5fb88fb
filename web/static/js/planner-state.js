/* Planner page, shared core: the request guard (a superseded request is cancelled and
 * its late answer ignored) and the page state in the URL (type, level, service-area
 * minutes, what-if mode and points in the query; the map view in the hash), so that a
 * reload and the language switch keep it. */
(function () {
  "use strict";
  const P = (window.gmPlannerCore = {});

  // ---- request guard: one "latest" request per name
  const latest = {};
  /** Start request `name`: aborts the previous one; isLatest() is false once superseded. */
  P.request = function (name) {
    const prev = latest[name];
    if (prev) prev.controller.abort();
    const r = { id: (prev ? prev.id : 0) + 1, controller: new AbortController() };
    latest[name] = r;
    return { id: r.id, signal: r.controller.signal, isLatest: () => latest[name] === r };
  };
  /** Cancel request `name` without starting another. */
  P.cancel = function (name) { P.request(name); };
  /** gm.api for request `name`: throws an AbortError when superseded (answer ignored). */
  P.api = async function (name, url, opts) {
    const req = P.request(name);
    const data = await gm.api(url, Object.assign({}, opts || {}, { signal: req.signal }));
    if (!req.isLatest()) { const e = new Error("superseded"); e.name = "AbortError"; throw e; }
    return data;
  };
  P.aborted = (e) => e && e.name === "AbortError";

  // ---- URL state
  const num = (s) => (s !== undefined && s !== null && s !== "" && isFinite(+s) ? +s : null);
  /** {type, level, minutes, mode, wi: [{type, lon, lat}], view: {lat, lng, zoom} | null} */
  P.readState = function () {
    const q = new URLSearchParams(window.location.search);
    const st = { type: q.get("type"), level: q.get("level"), minutes: q.get("minutes"),
      mode: q.get("mode"), wi: [], view: null };
    for (const part of (q.get("wi") || "").split(";")) {
      const [type, lon, lat] = part.split(",");
      if (type && num(lon) !== null && num(lat) !== null && st.wi.length < 50) st.wi.push({ type, lon: +lon, lat: +lat });
    }
    const h = new URLSearchParams(window.location.hash.replace(/^#/, "")).get("map") || "";
    const m = /^(\d{1,2})\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(h);
    if (m) st.view = { zoom: +m[1], lat: +m[2], lng: +m[3] };
    return st;
  };
  /** Replace the URL by the state (no history entry) and point the language form at it. */
  P.writeState = function (st) {
    const q = new URLSearchParams();
    if (st.type) q.set("type", st.type);
    if (st.level) q.set("level", st.level);
    if (st.minutes) q.set("minutes", st.minutes);
    if (st.mode) q.set("mode", st.mode);
    if (st.wi && st.wi.length) q.set("wi", st.wi.map((p) => [p.type, p.lon.toFixed(6), p.lat.toFixed(6)].join(",")).join(";"));
    const s = q.toString();
    // the shared map script (basemap.js) keeps the view in the hash when it is loaded
    const hash = gm.setHashParams ? window.location.hash
      : (st.view ? "#map=" + st.view.zoom + "/" + st.view.lat.toFixed(5) + "/" + st.view.lng.toFixed(5) : "");
    const url = window.location.pathname + (s ? "?" + s : "") + hash;
    if (url !== window.location.pathname + window.location.search + window.location.hash) history.replaceState(null, "", url);
    const next = document.querySelector('.gm-lang input[name="next"]');
    if (next) next.value = url;
  };
})();
