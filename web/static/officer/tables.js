/* Officer page: any button[data-export="<table id>"] downloads that table as CSV (UTF-8 with
 * BOM so Excel opens Chinese text correctly); the print button prints the page with the
 * date. Cells are read as text (textContent), never as HTML. */
(function () {
  "use strict";
  function csvCell(v) {
    var s = String(v == null ? "" : v).replace(/\s+/g, " ").trim();
    if (/^[=+\-@]/.test(s)) { s = "'" + s; }  // no formula injection in Excel
    return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function tableCsv(table) {
    return Array.prototype.map.call(table.querySelectorAll("tr"), function (tr) {
      return Array.prototype.map.call(tr.querySelectorAll("th,td"), function (c) { return csvCell(c.textContent); }).join(",");
    }).join("\r\n");
  }
  function download(name, text) {
    var blob = new Blob(["\ufeff" + text], { type: "text/csv;charset=utf-8" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("button[data-export]") : null;
    if (!b) { return; }
    var table = document.getElementById(b.getAttribute("data-export"));
    if (table) { download(b.getAttribute("data-export") + "-" + new Date().toISOString().slice(0, 10) + ".csv", tableCsv(table)); }
  });
  window.addEventListener("beforeprint", function () {
    var d = document.getElementById("off-print-date"), c = document.getElementById("off-community");
    if (d) { d.textContent = new Date().toLocaleString(document.documentElement.lang || "zh-CN", { hour12: false }); }
    var pc = document.getElementById("off-print-community");
    if (pc && c && c.selectedIndex >= 0) { pc.textContent = c.options[c.selectedIndex].textContent; }
  });
  var p = document.getElementById("off-print");
  if (p) { p.addEventListener("click", function () { window.print(); }); }
  window.GM_TABLE_CSV = tableCsv;
})();
