/* Service worker of the phone page (scope /field, issue #14): keeps the page and its
 * assets so /field opens without a network. The page itself: network first, the kept copy
 * when offline. Static assets: the kept copy first. API calls are never kept here (unsent
 * reports wait in IndexedDB, see /static/field/queue.js). */
const CACHE = "gridmap-field-v1";
const ASSETS = [
  "/field",
  "/static/vendor/leaflet/leaflet.css",
  "/static/vendor/leaflet/leaflet.js",
  "/static/vendor/leaflet/images/marker-icon.png",
  "/static/vendor/leaflet/images/marker-icon-2x.png",
  "/static/vendor/leaflet/images/marker-shadow.png",
  "/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
  "/static/vendor/idb-keyval/idb-keyval.umd.js",
  "/static/js/basemap.js",
  "/static/field/field.css",
  "/static/field/queue.js",
  "/static/field/field.js",
  "/static/field/tasks.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((k) => k.startsWith("gridmap-field-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === "/field") {
    event.respondWith(fetch(event.request).then((resp) => {
      if (resp.ok && !resp.redirected) { const copy = resp.clone(); caches.open(CACHE).then((c) => c.put("/field", copy)); }
      return resp;
    }).catch(() => caches.match("/field")));
    return;
  }
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(event.request).then((hit) => hit || fetch(event.request)));
  }
});
