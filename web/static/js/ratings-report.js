/* Printable street report (#17 §1): the print button. */
(function () {
  "use strict";
  const b = document.getElementById("rt-print");
  if (b) b.addEventListener("click", () => window.print());
})();
