// Print buttons (the record of sign-off, the print views): they open the browser's print
// dialogue (print or save as PDF). Shown only where scripts run; no inline handler, since the
// Content-Security-Policy allows scripts from files only.
"use strict";
document.querySelectorAll("button[data-print], #print-now").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
});
