// Figure upload on the section editor: sends the chosen image, then inserts the figure's
// Markdown line (![Caption](figure:12)) at the cursor of the text, without leaving the page.
// Without JavaScript the button posts the whole edit form and the page comes back with the
// line added at the end of the text.
(function () {
  "use strict";
  var button = document.getElementById("figure-submit");
  var form = document.getElementById("section-editor");
  if (!button || !form || !window.fetch || !window.FormData) { return; }
  var file = document.getElementById("figure-file");
  var caption = document.getElementById("figure-caption");
  var status = document.getElementById("figure-status");
  var body = form.querySelector("[name=body]");

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "error" : "hint";
    status.setAttribute("role", isError ? "alert" : "status");
  }

  function insert(line) {
    var start = body.selectionStart, end = body.selectionEnd;
    var text = body.value;
    if (typeof start !== "number" || document.activeElement !== body && start === 0 && end === 0) {
      start = end = text.length;
    }
    var before = text.slice(0, start).replace(/\s*$/, "");
    var after = text.slice(end).replace(/^\s*/, "");
    var block = (before ? "\n\n" : "") + line + (after ? "\n\n" : "\n");
    body.value = before + block + after;
    var at = (before + block).length;
    body.setSelectionRange(at, at);
    // Listeners (autosave, a visual editor) learn about the new text.
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    if (!file.files || !file.files.length) { file.focus(); return; }
    var data = new FormData(form);
    button.disabled = true;
    fetch(button.getAttribute("formaction"), {
      method: "POST",
      body: data,
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; },
        function () { return { ok: false, answer: null }; });
    }).then(function (result) {
      if (!result.ok) {
        var message = result.answer && result.answer.error && result.answer.error.message;
        say(message || button.getAttribute("data-error-text"), true);
        return;
      }
      insert(result.answer.markdown);
      file.value = "";
      caption.value = "";
      say(button.getAttribute("data-added-text").replace("%(line)s", result.answer.markdown), false);
    }).catch(function () {
      say(button.getAttribute("data-error-text"), true);
    }).then(function () { button.disabled = false; });
  });
})();
