/* Offline queue of field reports (issue #14): each report, with its photos as Blobs, waits
 * in IndexedDB (vendored idb-keyval) under its client id until the server has it; it is
 * sent when the page loads, when "online" fires and every 30 s while some wait. A report is
 * deleted only after a 200/201 (the server answers a repeated client id with the case it
 * already has, so a report sent twice still makes one case); a 4xx keeps it with the
 * server's message until the user discards it. */
(function () {
  "use strict";
  const kv = window.idbKeyval;
  const store = kv.createStore("gridmap-field", "reports");
  const PREFIX = "report:";
  let sending = null;
  const listeners = [];

  function csrf() { return (document.querySelector('meta[name="csrf-token"]') || {}).content || ""; }
  function changed() { listeners.forEach((fn) => { try { fn(); } catch (e) { /* keep others */ } }); }

  async function all() {
    const entries = await kv.entries(store);
    return entries.filter(([k]) => String(k).startsWith(PREFIX)).map(([, v]) => v)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async function add(report) {
    await kv.set(PREFIX + report.client_id, report, store);
    changed();
  }

  async function discard(clientId) {
    await kv.del(PREFIX + clientId, store);
    changed();
  }

  async function sendOne(r) {
    const fd = new FormData();
    for (const [k, v] of Object.entries(r.fields)) if (v !== null && v !== undefined && v !== "") fd.append(k, v);
    fd.append("client_id", r.client_id);
    r.photos.forEach((blob, i) => fd.append("photos", blob, "photo" + (i + 1) + ".jpg"));
    let resp;
    try {
      resp = await fetch("/api/field/reports", { method: "POST", body: fd, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf(), "Accept": "application/json" } });
    } catch (e) { return "offline"; }
    if (resp.status === 200 || resp.status === 201) {
      const body = await resp.json();
      await kv.del(PREFIX + r.client_id, store);
      r.result = body;
      return "sent";
    }
    if (resp.status >= 400 && resp.status < 500 && resp.status !== 401 && resp.status !== 408 && resp.status !== 429) {
      let msg = String(resp.status);
      try { msg = (await resp.json()).error || msg; } catch (e) { /* not JSON */ }
      r.error = msg;
      await kv.set(PREFIX + r.client_id, r, store);
      return "refused";
    }
    return "offline";  // 5xx, 401 (login expired), 429: try again later
  }

  async function flush() {
    if (sending) return sending;
    sending = (async () => {
      const sent = [];
      try {
        for (const r of await all()) {
          if (r.error) continue;
          const out = await sendOne(r);
          if (out === "sent") sent.push(r);
          if (out === "offline") break;
        }
      } finally { sending = null; changed(); }
      return sent;
    })();
    return sending;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  window.gmQueue = { all, add, discard, flush, uuid, onChange: (fn) => listeners.push(fn) };
  window.addEventListener("online", () => { flush(); });
  setInterval(() => { if (navigator.onLine) all().then((q) => { if (q.some((r) => !r.error)) flush(); }); }, 30000);
})();
