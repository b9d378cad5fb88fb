/* 我的任务 on the phone page (issue #14): cases to verify (核实) or check (核查) on site.
 * 核实: "confirmed" / "not found" (an event; the 受理员 files or voids). 核查: an after photo
 * (required), then "passed" closes the case or "not solved" sends it back (rework), both
 * through the dispatch API with the case's version (409 when someone else acted first).
 * Without a network a step (with its resized after-photo) waits in the phone's queue
 * (queue.js) and is sent when the network returns; the last task list seen is kept so the
 * tab opens offline. */
(function () {
  "use strict";
  const f = window.gmField;
  const CFG = window.GM_FIELD || {};
  const { t, el, $ } = f;
  const Q = window.gmQueue;
  const offline = (e) => !navigator.onLine || e instanceof TypeError;  // fetch: no network

  async function post(url, body, isForm) {
    const r = await fetch(url, { method: "POST", credentials: "same-origin",
      headers: Object.assign({ "X-CSRFToken": f.csrf(), Accept: "application/json" }, isForm ? {} : { "Content-Type": "application/json" }),
      body: isForm ? body : JSON.stringify(body) });
    let data = {};
    try { data = await r.json(); } catch (e) { /* empty */ }
    if (!r.ok) throw new Error(data.error || String(r.status));
    return data;
  }

  function thumbs(task, box) {
    f.getJSON("/api/incidents/" + task.id + "/photos").then((r) => {
      r.photos.forEach((p) => { const img = el("img", { alt: "" }); img.src = p.thumb_url; box.appendChild(img); });
    }).catch(() => {});
  }

  function card(task) {
    const li = el("li", { "data-case": String(task.id), "data-task": task.task });
    const name = CFG.lang === "en" ? task.category_name_en : task.category_name;
    const h = el("h3", {}, (task.case_no || "#" + task.id) + " " + name);
    h.appendChild(el("span", { class: "fd-state" }, t("field.task." + task.task)));
    li.appendChild(h);
    [task.address, task.description, new Date(task.handled_at || task.reported_at).toLocaleString()]
      .forEach((m) => { if (m) li.appendChild(el("div", { class: "fd-meta" }, m)); });
    const pics = el("div", { class: "fd-thumbs" });
    li.appendChild(pics);
    thumbs(task, pics);
    const msg = el("p", { class: "fd-error", role: "alert" });
    const actions = el("div", { class: "fd-actions" });
    const done = (text) => {  // the card stays (with its result) until the next visit of the tab
      actions.replaceChildren(el("span", { class: "fd-status" }, text));
      msg.textContent = "";
      li.classList.add("done");
      count();
    };
    if (task.task === "verify") {
      if (Number(task.verified)) li.appendChild(el("div", { class: "fd-meta" }, t("field.verified")));
      const go = async (found) => {
        const step = { id: task.id, task: "verify", found: found, note: null };
        if (!navigator.onLine) { await Q.addTask(step); done(t("field.saved_offline")); return; }
        try { await post("/api/field/tasks/" + task.id + "/verify", { found: found }); done(t("field.done")); }
        catch (e) {
          if (offline(e)) { await Q.addTask(step); done(t("field.saved_offline")); } else msg.textContent = e.message;
        }
      };
      actions.appendChild(el("button", { type: "button", class: "fd-btn", onclick: () => go(true) }, t("field.found")));
      actions.appendChild(el("button", { type: "button", class: "fd-btn secondary", onclick: () => go(false) }, t("field.not_there")));
    } else {
      const label = el("label", {}, t("field.after_photo"));
      const input = el("input", { type: "file", accept: "image/*", capture: "environment", "data-after": "1" });
      label.appendChild(input);
      li.appendChild(label);
      const act = async (to) => {
        msg.textContent = "";
        const file = input.files && input.files[0];
        if (to === "closed" && !file) { msg.textContent = t("field.need_after"); return; }
        const photo = file ? await f.resize(file) : null;
        const note = t(to === "closed" ? "field.check_pass" : "field.check_fail");
        const step = { id: task.id, task: "check", to: to, version: task.lock_version, note: note, photo: photo };
        if (!navigator.onLine) { await Q.addTask(step); done(t("field.saved_offline")); return; }
        let sentPhoto = false;
        try {
          if (photo) {
            const fd = new FormData();
            fd.append("stage", "after");
            fd.append("photos", photo, "after.jpg");
            await post("/api/incidents/" + task.id + "/photos", fd, true);
            sentPhoto = true;
          }
          await post("/api/dispatch/cases/" + task.id + "/act", { to: to, version: task.lock_version, note: note });
          done(t("field.done"));
        } catch (e) {
          if (!offline(e)) { msg.textContent = e.message; return; }
          step.photo_sent = sentPhoto;
          await Q.addTask(step);
          done(t("field.saved_offline"));
        }
      };
      actions.appendChild(el("button", { type: "button", class: "fd-btn", "data-act": "closed", onclick: () => act("closed") }, t("field.check_pass")));
      actions.appendChild(el("button", { type: "button", class: "fd-btn warn", "data-act": "rework", onclick: () => act("rework") }, t("field.check_fail")));
    }
    li.appendChild(actions);
    li.appendChild(msg);
    return li;
  }

  async function count() {
    try {
      const n = (await f.getJSON("/api/field/tasks")).tasks.length;
      const b = $("fd-task-count");
      b.textContent = String(n); b.hidden = !n;
    } catch (e) { /* offline: keep the last count */ }
  }

  async function load() {
    const ul = $("fd-tasks");
    let tasks;
    try {
      tasks = (await f.getJSON("/api/field/tasks")).tasks;
      Q.keepList(tasks).catch(() => {});
    } catch (e) {
      tasks = await Q.lastList().catch(() => null);  // no network: the last list seen
      if (!tasks) return;
    }
    const waiting = new Set((await Q.tasks().catch(() => [])).map((s) => s.key));
    tasks = tasks.filter((task) => !waiting.has(task.id + ":" + task.task));  // sent when online
    ul.replaceChildren();
    tasks.forEach((task) => ul.appendChild(card(task)));
    if (!tasks.length) ul.appendChild(el("li", { class: "fd-meta" }, t("field.none_tasks")));
    const b = $("fd-task-count");
    b.textContent = String(tasks.length); b.hidden = !tasks.length;
  }
  f.loadTasks = load;
  if (navigator.onLine) setTimeout(count, 1500);  // the badge only; cards when the tab opens
})();
