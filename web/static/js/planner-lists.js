/* Planner page lists: the gap list (coverage %, sorting, XLSX export), numbered
 * candidate sites (address, estates served, "try as what-if") and search. Every
 * request goes through the guard of planner-state.js: a superseded answer never lands. */
(function () {
  "use strict";
  const G = window.gmPlanner, P = window.gmPlannerCore, map = G.map, t = gm.t;
  const $ = (id) => document.getElementById(id);
  const typeSel = $("type"), levelSel = $("level");

  // ---- gaps
  let gapRows = [];
  const sort = { key: "residents_affected", dir: -1 };
  function renderGaps() {
    const tbody = $("gaps").querySelector("tbody");
    tbody.textContent = "";
    const rows = gapRows.slice().sort((a, b) => {
      const x = a[sort.key], y = b[sort.key];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (typeof x === "string" ? x.localeCompare(y, "zh") : x - y) * sort.dir;
    });
    for (const g of rows) {
      const tr = gm.el("tr", { class: "gm-row-click", "data-level": g.level, "data-type": g.type_code });
      tr.appendChild(gm.el("td", {}, g.unit_name));
      tr.appendChild(gm.el("td", { class: "num" }, gm.pct(g.share)));
      tr.appendChild(gm.el("td", { class: "num" }, gm.fmt(g.residents_affected)));
      const td = gm.el("td", { class: "gm-noprint" });
      td.appendChild(gm.el("button", { type: "button", class: "gm-btn secondary" }, t("planner.zoom")));
      tr.appendChild(td);
      tr.addEventListener("click", () => { if (g.bbox) map.fitBounds([[g.bbox[1], g.bbox[0]], [g.bbox[3], g.bbox[2]]]); });
      tbody.appendChild(tr);
    }
    for (const th of $("gaps").querySelectorAll("th[data-sort]")) {
      th.setAttribute("aria-sort", th.dataset.sort === sort.key ? (sort.dir > 0 ? "ascending" : "descending") : "none");
    }
  }
  for (const th of $("gaps").querySelectorAll("th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => {
      if (sort.key === th.dataset.sort) sort.dir = -sort.dir;
      else { sort.key = th.dataset.sort; sort.dir = th.dataset.sort === "residents_affected" ? -1 : 1; }
      renderGaps();
    });
  }
  async function loadGaps() {
    const params = { level: levelSel.value, type: typeSel.value };
    $("gaps-export").href = gm.withParams("/api/planner/gaps.xlsx", Object.assign({ limit: 1000 }, params));
    gapRows = []; renderGaps();
    $("gaps-msg").textContent = "…";
    try {
      const data = await P.api("gaps", gm.withParams("/api/planner/gaps", Object.assign({ limit: 200 }, params)));
      gapRows = data.gaps;
      $("gaps-msg").textContent = data.gaps.length ? "" : t("planner.gaps.none");
      renderGaps();
    } catch (e) {
      if (P.aborted(e)) return;
      $("gaps-msg").textContent = t("planner.unavailable") + ": " + e.message;
    }
  }

  // ---- candidates
  function clearCandidates() {
    P.cancel("candidates");
    G.candidates.clearLayers();
    $("candidates").textContent = "";
    $("candidates-msg").textContent = "";
  }
  function candidateItem(c) {
    const li = gm.el("li", { class: "gm-candidate", "data-rank": String(c.rank) });
    const where = [c.estate || c.community, c.road ? t("planner.candidates.near") + " " + c.road : null].filter(Boolean);
    li.appendChild(gm.el("strong", { class: "gm-cand-addr" }, where.join(" · ") || c.lat.toFixed(5) + ", " + c.lon.toFixed(5)));
    li.appendChild(gm.el("div", { class: "num" }, t("planner.gain") + " " + gm.fmt(c.residents_added) + " " + t("planner.persons")));
    const serves = c.serves.map((s) => (s.estate || t("planner.candidates.outside")) + " " + gm.fmt(s.residents));
    if (serves.length) li.appendChild(gm.el("div", { class: "gm-muted gm-cand-serves" }, t("planner.candidates.serves") + ": " + serves.join("、")));
    const btn = gm.el("button", { type: "button", class: "gm-btn secondary gm-cand-try" }, t("planner.candidates.try"));
    btn.addEventListener("click", (ev) => { ev.stopPropagation(); G.addWhatIf(typeSel.value, c.lon, c.lat); });
    li.appendChild(btn);
    li.addEventListener("click", () => map.setView([c.lat, c.lon], Math.max(map.getZoom(), 16)));
    return li;
  }
  async function loadCandidates() {
    clearCandidates();
    $("candidates-msg").textContent = "…";
    try {
      const res = await P.api("candidates", gm.withParams("/api/planner/candidates", { type: typeSel.value, k: 5 }));
      $("candidates-msg").textContent = res.candidates.length ? "" : t("planner.gaps.none");
      for (const c of res.candidates) {
        $("candidates").appendChild(candidateItem(c));
        const icon = L.divIcon({ className: "gm-cand-icon", html: gm.el("span", {}, String(c.rank)), iconSize: [26, 26], iconAnchor: [13, 13] });
        L.marker([c.lat, c.lon], { icon, title: "#" + c.rank, keyboard: false })
          .bindTooltip(gm.el("span", {}, "#" + c.rank + " +" + gm.fmt(c.residents_added))).addTo(G.candidates);
      }
    } catch (e) {
      if (P.aborted(e)) return;
      $("candidates-msg").textContent = (typeSel.options[typeSel.selectedIndex].dataset.radius ? t("planner.unavailable") + ": " + e.message : t("planner.candidates.block"));
    }
  }
  $("candidates-btn").addEventListener("click", loadCandidates);

  // ---- search
  let searchTimer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const q = $("search").value.trim();
      const ul = $("search-results");
      ul.textContent = "";
      if (!q) { P.cancel("search"); return; }
      try {
        const res = await P.api("search", gm.withParams("/api/search", { q }));
        ul.textContent = "";
        if (!res.results.length) ul.appendChild(gm.el("li", {}, t("planner.search.none")));
        for (const r of res.results) {
          const li = gm.el("li");
          const a = gm.el("a", { href: "#" }, r.name + " · " + t(r.kind === "estate" ? "planner.level.estate" : "planner.level.community"));
          a.addEventListener("click", (ev) => { ev.preventDefault(); map.fitBounds([[r.bbox[1], r.bbox[0]], [r.bbox[3], r.bbox[2]]]); });
          li.appendChild(a); ul.appendChild(li);
        }
      } catch (e) { if (!P.aborted(e)) ul.appendChild(gm.el("li", {}, e.message)); }
    }, 250);
  });

  G.lists.reload = loadGaps;
  G.lists.clearCandidates = clearCandidates;
  loadGaps();
})();
