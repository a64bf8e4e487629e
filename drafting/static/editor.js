// Autosave of the section editor: keeps the unsaved text on the server every few seconds,
// offers to restore a draft, and warns before leaving with unsaved changes.
// Without JavaScript the editor still saves normally; this only adds safety.
(function () {
  "use strict";
  var form = document.getElementById("section-editor");
  if (!form) { return; }
  var script = document.currentScript || document.querySelector("script[src*='editor.js']");
  var savedText = script ? script.getAttribute("data-saved-text") : "";
  var errorText = script ? script.getAttribute("data-error-text") : "";
  var status = document.getElementById("autosave-status");
  var csrf = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var title = form.querySelector("[name=title]");
  var body = form.querySelector("[name=body]");
  var base = form.querySelector("[name=base_version]");
  var lastSent = title.value + "\u0000" + body.value;
  var initial = lastSent;
  var submitting = false;

  function current() { return title.value + "\u0000" + body.value; }

  function autosave() {
    var now = current();
    if (now === lastSent) { return; }
    var payload = JSON.stringify({ title: title.value, body: body.value, base_version: base.value });
    fetch(form.getAttribute("data-draft-url"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: payload,
      credentials: "same-origin"
    }).then(function (response) {
      if (response.status === 401) {
        // The login has expired or ended: say so (the text stays in the form and the draft).
        return response.json().then(function (data) {
          var error = new Error("session");
          error.shown = data && data.error && data.error.message;
          throw error;
        });
      }
      if (!response.ok) { throw new Error(String(response.status)); }
      lastSent = now;
      if (status) {
        var time = new Date().toLocaleTimeString(document.documentElement.lang || undefined);
        status.textContent = savedText.replace("%(time)s", time);
      }
    }).catch(function (error) {
      if (status) { status.textContent = (error && error.shown) || errorText; }
    });
  }

  setInterval(autosave, 3000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { autosave(); }
  });
  form.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("beforeunload", function (event) {
    if (!submitting && current() !== initial) {
      autosave();
      event.preventDefault();
      event.returnValue = "";
    }
  });

  var restore = document.getElementById("restore-draft");
  if (restore) {
    restore.addEventListener("click", function () {
      var draft = document.getElementById("draft-text");
      body.value = draft.textContent;
      // The visual editor (editor.bundle.js) reloads its document from the textarea.
      body.dispatchEvent(new Event("input", { bubbles: true }));
      title.value = restore.getAttribute("data-title") || title.value;
      base.value = restore.getAttribute("data-base") || base.value;
      var offer = document.getElementById("draft-offer");
      if (offer) { offer.hidden = true; }
      // With the visual editor the textarea is hidden: the writer lands in the editor.
      var visual = body.hidden && body.parentNode.querySelector("[role=textbox]");
      (visual || body).focus();
    });
  }
})();
