// The "Print" button of the sign-off record: shown only where scripts run, no inline handler
// (the Content-Security-Policy allows scripts from files only).
"use strict";
document.querySelectorAll("button[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
});
