// Print view: the button opens the browser's print dialogue (print or save as PDF).
(function () {
  "use strict";
  var button = document.getElementById("print-now");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
})();
