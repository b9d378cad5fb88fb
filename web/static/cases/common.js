/* Shared helpers of the case workspace pages (issue #14). Data reach the DOM as text only. */
(function () {
  "use strict";
  const gm = window.gm;
  const cs = (window.cs = {});
  const lang = document.documentElement.lang || "zh-CN";

  /** fetch JSON: resolves {ok, status, body} (never throws on HTTP errors). */
  cs.call = async function (url, opts) {
    opts = Object.assign({ headers: {}, credentials: "same-origin" }, opts || {});
    if (opts.json !== undefined) {
      opts.method = opts.method || "POST";
      opts.body = JSON.stringify(opts.json);
      opts.headers["Content-Type"] = "application/json";
      delete opts.json;
    }
    if (opts.method && opts.method !== "GET") opts.headers["X-CSRFToken"] = gm.csrf();
    let r;
    try { r = await fetch(url, opts); } catch (e) { return { ok: false, status: 0, body: { error: String(e) } }; }
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    return { ok: r.ok, status: r.status, body: body };
  };
  /** The server's message of a failed call, with every problem. */
  cs.message = function (res) {
    const b = res.body || {};
    if (b.error) return b.error;
    const parts = (b.problems || []).map((p) => p.reason).filter(Boolean);
    return parts.length ? parts.join("；") : String(res.status);
  };
  cs.show = function (id, text) {
    const e = document.getElementById(id);
    if (!e) return;
    e.textContent = text || "";
    e.hidden = !text;
  };
  cs.time = function (iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleString(lang, { hour12: false, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  };
  cs.fmt = function (key, values) {
    let s = gm.t(key);
    for (const [k, v] of Object.entries(values || {})) s = s.split("{" + k + "}").join(String(v));
    return s;
  };
  /** A table row of text cells; ``onclick`` opens something. */
  cs.row = function (cells, onclick) {
    const tr = gm.el("tr");
    for (const c of cells) {
      if (c instanceof Node) { const td = gm.el("td"); td.appendChild(c); tr.appendChild(td); }
      else tr.appendChild(gm.el("td", {}, c === null || c === undefined ? "–" : c));
    }
    if (onclick) { tr.addEventListener("click", onclick); tr.tabIndex = 0; tr.addEventListener("keydown", (e) => { if (e.key === "Enter") onclick(e); }); }
    return tr;
  };
  cs.clear = function (el) { while (el.firstChild) el.removeChild(el.firstChild); };
  cs.caseUrl = (id) => "/cases/" + encodeURIComponent(id);
})();
