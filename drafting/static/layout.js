// Layout on small screens (issue 15): the main navigation folds into a "Menu" button, and
// a table wider than its box, which scrolls inside that box, becomes keyboard-focusable so
// it can be scrolled without a mouse. Without JavaScript the navigation simply wraps.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function setUpMenu() {
    var toggle = document.querySelector(".nav-toggle");
    var list = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (!toggle || !list) { return; }
    list.classList.add("collapsed");
    toggle.setAttribute("aria-expanded", "false");
    toggle.addEventListener("click", function () {
      var open = list.classList.toggle("collapsed") === false;
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !list.classList.contains("collapsed")) {
        list.classList.add("collapsed");
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
  }

  function focusableWideTables() {
    var tables = document.querySelectorAll("main table");
    for (var i = 0; i < tables.length; i++) {
      var table = tables[i];
      var box = table.parentElement && table.parentElement.classList.contains("table-wrap")
        ? table.parentElement : table;
      if (box.scrollWidth > box.clientWidth + 1) {
        if (!box.hasAttribute("tabindex")) {
          box.setAttribute("tabindex", "0");
          box.setAttribute("data-kw-scroll", "");
        }
      } else if (box.hasAttribute("data-kw-scroll")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-kw-scroll");
      }
    }
  }

  function ready() {
    setUpMenu();
    focusableWideTables();
    var timer = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(focusableWideTables, 150);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
}());
