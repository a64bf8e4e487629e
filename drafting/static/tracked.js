// Tracked changes (templates/review/_tracked.html): choosing "Accept" or "Reject" for a
// change previews the choice in the text above the form; a click on a change in the text
// moves to its choice. Without JavaScript the form works the same, only without preview.
(function () {
  "use strict";
  var forms = document.querySelectorAll("[data-tracked-form]");
  Array.prototype.forEach.call(forms, function (form) {
    var id = form.getAttribute("data-tracked-form");
    function mark(input) {
      var change = document.getElementById("change-" + id + "-" + input.name.replace("change-", ""));
      if (!change) { return; }
      change.classList.toggle("change-accepted", input.value === "accept");
      change.classList.toggle("change-rejected", input.value === "reject");
    }
    form.addEventListener("change", function (event) {
      var input = event.target;
      if (input && input.type === "radio" && input.checked) { mark(input); }
    });
    var text = document.querySelector("[data-tracked-text='" + id + "']");
    if (text) {
      text.addEventListener("click", function (event) {
        var change = event.target.closest && event.target.closest("[data-change]");
        if (!change) { return; }
        var radio = form.querySelector("input[name='change-" + change.getAttribute("data-change") + "']:checked");
        if (radio) { radio.focus(); }
      });
    }
  });
})();
