/* Profile page: the print button (no inline handler under the strict CSP). */
(function () {
  "use strict";
  const btn = document.getElementById("profile-print");
  if (btn) btn.addEventListener("click", () => window.print());
})();
