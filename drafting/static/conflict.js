// The conflict page: rebuild the combined text from the choices as they are made, so that
// the primary button saves exactly what the page shows. Without this script the server does
// the same (the "apply" button, or on saving). No inline script: the pieces of the merge are
// in data attributes (settled text in #conflict-chunks, each side's text on its block).
(function () {
  "use strict";
  var form = document.getElementById("conflict-form");
  var data = document.getElementById("conflict-chunks");
  if (!form || !data) {
    return;
  }
  var chunks = Array.prototype.map.call(data.children, function (span) {
    if (span.hasAttribute("data-text")) {
      return { text: span.getAttribute("data-text") };
    }
    var region = document.getElementById("conflict-" + span.getAttribute("data-conflict"));
    return {
      theirs: region.querySelector(".side.theirs .region-text").getAttribute("data-text"),
      yours: region.querySelector(".side.yours .region-text").getAttribute("data-text"),
    };
  });
  var combined = form.querySelector("textarea[name=combined]");
  var generated = document.getElementById("conflict-generated");
  document.documentElement.classList.add("js-conflict");

  function choiceOf(index) {
    var checked = form.querySelector("input[name='choice-" + index + "']:checked");
    return checked ? checked.value : "theirs";
  }

  function build() {
    var parts = [];
    var index = 0;
    chunks.forEach(function (chunk) {
      if (chunk.text !== undefined) {
        parts.push(chunk.text);
        return;
      }
      var choice = choiceOf(index);
      if (choice === "yours") {
        parts.push(chunk.yours);
      } else if (choice === "edited") {
        var edit = document.getElementById("edit-" + index);
        parts.push(edit ? edit.value.replace(/\r\n?/g, "\n") : chunk.yours);
      } else {
        parts.push(chunk.theirs);
      }
      index += 1;
    });
    return parts.join("");
  }

  function update() {
    var text = build();
    combined.value = text;
    generated.value = text;
  }

  form.addEventListener("change", function (event) {
    if (event.target.name && event.target.name.indexOf("choice-") === 0) {
      update();
    }
  });
  form.addEventListener("input", function (event) {
    var name = event.target.name || "";
    if (name.indexOf("edit-") === 0) {
      var radio = document.getElementById("choice-" + name.slice(5) + "-edited");
      if (radio) {
        radio.checked = true;
      }
      update();
    }
  });
})();
