// Polls an export's state and updates the progress bar until the document is ready.
(function () {
  "use strict";
  var box = document.getElementById("export-state");
  if (!box) { return; }
  var script = document.currentScript || document.querySelector("script[src*='export.js']");
  var bar = document.getElementById("export-progress");
  var message = document.getElementById("export-message");
  var download = document.getElementById("export-download");
  function poll() {
    fetch(box.getAttribute("data-status-url"), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        bar.value = data.progress;
        bar.textContent = data.progress + " %";
        if (data.status === "done") {
          message.textContent = script.getAttribute("data-ready");
          download.hidden = false;
        } else if (data.status === "failed") {
          message.textContent = script.getAttribute("data-failed").replace("%(reason)s", data.error || "");
        } else {
          message.textContent = data.progress + " %";
          setTimeout(poll, 1000);
        }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (box.getAttribute("data-status") === "queued" || box.getAttribute("data-status") === "running") { poll(); }
})();
