/* Offline queue of field reports (issue #14): each report, with its photos as Blobs, waits
 * in IndexedDB (vendored idb-keyval) under its client id until the server has it; it is
 * sent when the page loads, when "online" fires and every 30 s while some wait. A report is
 * deleted only after a 200/201 (the server answers a repeated client id with the case it
 * already has, so a report sent twice still makes one case); a 4xx keeps it with the
 * server's message until the user discards it.
 *
 * On-site task steps (核实 found / not found, 核查 passed / not solved with its after-photo)
 * wait the same way under "task:<case>:<task>" and are sent after the reports: the server
 * keeps a repeated 核实 finding and a repeated photo once, and a 核查 step whose answer was
 * lost is recognised by the case already being in the state it asked for (409 → look). */
(function () {
  "use strict";
  const kv = window.idbKeyval;
  const store = kv.createStore("gridmap-field", "reports");
  const PREFIX = "report:";
  const TASK = "task:";
  let sending = null;
  const listeners = [];

  function csrf() { return (document.querySelector('meta[name="csrf-token"]') || {}).content || ""; }
  function changed() { listeners.forEach((fn) => { try { fn(); } catch (e) { /* keep others */ } }); }

  async function all() {
    const entries = await kv.entries(store);
    return entries.filter(([k]) => String(k).startsWith(PREFIX)).map(([, v]) => v)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async function tasks() {
    const entries = await kv.entries(store);
    return entries.filter(([k]) => String(k).startsWith(TASK)).map(([, v]) => v)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async function addTask(step) {  // {id, task, found | to, version, note, photo: Blob | null}
    step.key = step.id + ":" + step.task;
    step.created_at = new Date().toISOString();
    await kv.set(TASK + step.key, step, store);
    changed();
  }

  async function discardTask(key) {
    await kv.del(TASK + key, store);
    changed();
  }

  async function post(url, body) {
    const form = body instanceof FormData;
    return fetch(url, { method: "POST", credentials: "same-origin", body: form ? body : JSON.stringify(body),
      headers: Object.assign({ "X-CSRFToken": csrf(), Accept: "application/json" }, form ? {} : { "Content-Type": "application/json" }) });
  }

  /** "sent", "refused" (kept with the server's message) or "offline" (try again later). */
  async function judge(resp, step, okay) {
    if (okay) { await kv.del(TASK + step.key, store); return "sent"; }
    if (resp.status >= 400 && resp.status < 500 && ![401, 408, 429].includes(resp.status)) {
      let msg = String(resp.status);
      try { msg = (await resp.json()).error || msg; } catch (e) { /* not JSON */ }
      step.error = msg;
      await kv.set(TASK + step.key, step, store);
      return "refused";
    }
    return "offline";
  }

  async function sendTask(step) {
    try {
      if (step.task === "verify") {
        const r = await post("/api/field/tasks/" + step.id + "/verify", { found: step.found, note: step.note });
        return judge(r, step, r.ok);
      }
      if (step.photo && !step.photo_sent) {
        const fd = new FormData();
        fd.append("stage", "after");
        fd.append("photos", step.photo, "after.jpg");
        const up = await post("/api/incidents/" + step.id + "/photos", fd);
        if (!up.ok) return judge(up, step, false);
        step.photo_sent = true;
        await kv.set(TASK + step.key, step, store);
      }
      const r = await post("/api/dispatch/cases/" + step.id + "/act", { to: step.to, version: step.version, note: step.note });
      if (r.status === 409) {  // stale: done already (our answer lost) or by someone else
        const now = await fetch("/api/dispatch/cases/" + step.id, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (now.ok && (await now.json()).state === step.to) return judge(now, step, true);
      }
      return judge(r, step, r.ok);
    } catch (e) { return "offline"; }
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
        for (const step of await tasks()) {
          if (step.error) continue;
          if ((await sendTask(step)) === "offline") break;
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

  // the last task list seen online, so 我的任务 still opens where there is no signal
  const keepList = (list) => kv.set("tasklist", list, store);
  const lastList = () => kv.get("tasklist", store).then((v) => v || null);

  window.gmQueue = { all, add, discard, flush, uuid, tasks, addTask, discardTask, keepList, lastList,
    onChange: (fn) => listeners.push(fn) };
  window.addEventListener("online", () => { flush(); });
  setInterval(() => { if (navigator.onLine) Promise.all([all(), tasks()]).then(([q, s]) => { if (q.concat(s).some((r) => !r.error)) flush(); }); }, 30000);
})();
