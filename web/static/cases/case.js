/* Case page (issue #14): the map around the case, all fields, photos before/after, the
 * history as a timeline (with the photos taken at each step), comments, and the steps this
 * user may take as buttons, each asking for what it needs. Data reach the DOM as text. */
(function () {
  "use strict";
  const gm = window.gm, cs = window.cs;
  const id = window.GM_CASES.id;
  const form = document.getElementById("cs-act-form");
  let data = null, current = null, photos = [], marker = null;

  const FIELDS = [
    ["cases.case_no", (c) => c.case_no || "#" + c.id], ["cases.state", (c) => c.status_label],
    ["cases.category", (c) => c.category_name], ["cases.urgency", (c) => c.urgency_label],
    ["cases.source", (c) => c.source_label], ["cases.level", (c) => c.level && gm.t("cases.level." + c.level)],
    ["cases.unit", (c) => c.unit_name], ["cases.proposed_unit", (c) => c.proposed_unit_name],
    ["cases.light", (c) => c.light && gm.t("cases.light." + c.light)],
    ["cases.community", (c) => [c.street_name, c.community_name].filter(Boolean).join(" · ")],
    ["cases.grid", (c) => c.grid_code], ["cases.address", (c) => c.address],
    ["cases.description", (c) => c.description],
    ["cases.reporter", (c) => [c.reporter_name, c.reporter_phone].filter(Boolean).join(" ")],
    ["cases.reported_at", (c) => cs.time(c.reported_at)], ["cases.accept_due_at", (c) => c.accept_due_at && cs.time(c.accept_due_at)],
    ["cases.due_at", (c) => c.due_at && cs.time(c.due_at)], ["cases.extensions", (c) => c.extensions],
    ["cases.closed_at", (c) => c.closed_at && cs.time(c.closed_at)],
    ["cases.satisfaction", (c) => c.satisfaction_score], ["cases.solved", (c) => c.solved === null || c.solved === undefined ? null : (c.solved ? "✓" : "✗")],
  ];

  function renderFields(c) {
    const dl = document.getElementById("cs-fields");
    cs.clear(dl);
    for (const [key, get] of FIELDS) {
      const v = get(c);
      if (v === null || v === undefined || v === "") continue;
      dl.appendChild(gm.el("dt", {}, gm.t(key)));
      dl.appendChild(gm.el("dd", {}, v));
    }
    document.getElementById("cs-title").textContent = (c.case_no || "#" + c.id) + " · " + (c.status_label || c.state);
    if (gm.map && c.lat !== null && c.lat !== undefined) {
      const ll = [c.lat, c.lon];
      if (marker) gm.map.removeLayer(marker);
      marker = L.circleMarker(ll, { radius: 9, color: "#fff", weight: 2, fillColor: "#d73027", fillOpacity: 0.9 }).addTo(gm.map);
      marker.bindTooltip(gm.el("span", {}, c.case_no || "#" + c.id));
      gm.map.setView(ll, 17);
    }
  }
  function photoImg(p) {
    const a = gm.el("a", { href: p.url, target: "_blank", rel: "noopener" });
    a.appendChild(gm.el("img", { src: p.thumb_url || p.url, alt: (p.stage || "") + " " + (p.id || "") }));
    return a;
  }
  function renderTimeline(history) {
    const ol = document.getElementById("cs-timeline");
    cs.clear(ol);
    const placed = new Map();
    for (const p of photos) {        // each photo under the last step at or before its upload
      let at = null;
      const t = new Date(p.uploaded_at).getTime() + 5000;
      for (const h of history) if (new Date(h.at).getTime() <= t) at = h.id;
      if (at !== null) placed.set(at, (placed.get(at) || []).concat([p]));
    }
    for (const h of history) {
      const li = gm.el("li");
      li.appendChild(gm.el("span", { class: "cs-when" }, cs.time(h.at)));
      li.appendChild(gm.el("strong", {}, h.actor || "–"));
      const auto = h.from_state === h.to_state;
      const kind = h.kind ? gm.t("cases.kind." + h.kind) : "";
      const what = auto ? " · " + (kind.startsWith("cases.kind.") ? h.kind : kind)
        : " · " + (h.from_label || "∅") + " → " + (h.to_label || h.to_state);
      li.appendChild(gm.el("span", auto ? { class: "cs-auto" } : {}, what));
      if (h.note) li.appendChild(gm.el("div", {}, h.note));
      for (const p of placed.get(h.id) || []) li.appendChild(photoImg(p));
      ol.appendChild(li);
    }
  }
  function renderPhotos() {
    const before = document.getElementById("cs-photos-before"), after = document.getElementById("cs-photos-after");
    cs.clear(before); cs.clear(after);
    for (const p of photos) (p.stage === "after" ? after : before).appendChild(photoImg(p));
    if (!before.firstChild) before.appendChild(gm.el("span", { class: "cs-note" }, gm.t("cases.no_photos")));
    if (!after.firstChild) after.appendChild(gm.el("span", { class: "cs-note" }, gm.t("cases.no_photos")));
  }
  function renderComments(list) {
    const ul = document.getElementById("cs-comments");
    cs.clear(ul);
    for (const c of list) {
      const li = gm.el("li");
      li.appendChild(gm.el("span", { class: "cs-when" }, cs.time(c.at) + " "));
      li.appendChild(gm.el("strong", {}, c.author));
      li.appendChild(gm.el("div", {}, c.body));
      ul.appendChild(li);
    }
  }
  function renderActions() {
    const box = document.getElementById("cs-actions");
    cs.clear(box);
    form.hidden = true;
    if (!data.actions.length) { box.appendChild(gm.el("span", { class: "cs-note" }, gm.t("cases.no_actions"))); return; }
    for (const a of data.actions) {
      const b = gm.el("button", { type: "button", class: "gm-btn", "data-to": a.to }, gm.t("cases.act." + a.to));
      b.addEventListener("click", () => openForm(a));
      box.appendChild(b);
    }
  }
  function openForm(a) {
    current = a;
    form.reset();
    document.getElementById("cs-act-title").textContent = gm.t("cases.act." + a.to);
    const needs = new Set(a.needs.concat(["note"]));
    if (a.needs.includes("approval") && !data.may_approve_extension) needs.delete("approval");
    for (const l of form.querySelectorAll("[data-need]")) l.hidden = !needs.has(l.dataset.need);
    if (needs.has("unit")) {
      const sel = form.elements.unit_id;
      cs.clear(sel);
      for (const u of data.units || []) {
        const proposed = u.id === data.case.proposed_unit_id;
        const o = gm.el("option", { value: u.id }, u.name + " (" + u.code + ")" + (proposed ? " " + gm.t("cases.proposed") : ""));
        if (proposed) o.selected = true;
        sel.appendChild(o);
      }
    }
    form.hidden = false;
    form.scrollIntoView({ block: "nearest" });
  }
  async function uploadPhoto(file) {
    const fd = new FormData();
    fd.append("photos", file);
    fd.append("stage", "after");
    return cs.call("/api/incidents/" + id + "/photos", { method: "POST", body: fd });
  }
  async function submitAct(e) {
    e.preventDefault();
    const a = current, f = form.elements;
    const body = { to: a.to, version: data.case.lock_version, note: f.note.value || null };
    if (a.needs.includes("unit") && f.unit_id.value) {
      const unit = parseInt(f.unit_id.value, 10);
      if (unit !== data.case.proposed_unit_id) body.unit_id = unit;
    }
    if (a.needs.includes("days")) body.extension = f.extension.value ? Number(f.extension.value) : null;
    if (a.needs.includes("approval") && f.higher_approval.checked) body.higher_approval = true;
    if (a.needs.includes("satisfaction")) { body.satisfaction = parseInt(f.satisfaction.value, 10); body.solved = f.solved.checked; }
    const file = a.needs.includes("photo") && f.photo.files.length ? f.photo.files[0] : null;
    cs.show("cs-error", ""); cs.show("cs-ok", "");
    const res = await cs.call("/api/cases/" + id + "/act", { json: body });
    if (!res.ok) {
      cs.show("cs-error", (res.status === 409 && /version|更新|修改|stale/i.test(cs.message(res)) ? gm.t("cases.stale") + " " : "") + cs.message(res));
      if (res.status === 409) await load();
      return;
    }
    if (file) {
      const up = await uploadPhoto(file);
      if (!up.ok) cs.show("cs-error", cs.message(up));
    }
    cs.show("cs-ok", cs.fmt("cases.done", { label: gm.t("cases.act." + a.to) }));
    await load();
  }
  async function loadPhotos() {
    const res = await cs.call("/api/incidents/" + id + "/photos");
    photos = res.ok && res.body && res.body.photos ? res.body.photos : [];
    const note = document.getElementById("cs-photos-note");
    note.textContent = res.ok ? "" : gm.t("cases.photos_unavailable");
    note.hidden = res.ok;
  }
  async function load() {
    const res = await cs.call("/api/cases/" + id);
    if (!res.ok) { cs.show("cs-error", cs.message(res)); document.getElementById("cs-title").textContent = gm.t("cases.case"); return; }
    data = res.body;
    await loadPhotos();
    renderFields(data.case);
    renderPhotos();
    renderTimeline(data.history);
    renderComments(data.comments);
    renderActions();
  }
  form.addEventListener("submit", submitAct);
  document.getElementById("cs-act-cancel").addEventListener("click", () => { form.hidden = true; });
  document.getElementById("cs-comment-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const ta = e.target.elements.body;
    const res = await cs.call("/api/cases/" + id + "/comments", { json: { body: ta.value } });
    if (!res.ok) { cs.show("cs-error", cs.message(res)); return; }
    ta.value = "";
    await load();
  });
  load();
})();
