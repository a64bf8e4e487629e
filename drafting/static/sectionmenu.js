// The paper page's section menus (issue 15). Each section carries one link to its actions
// page (/sections/<id>/actions), which works without JavaScript; here every such link becomes
// the "More" menu, cloned from the one <template id="section-menu"> of the page, so that a
// paper of 300 sections does not carry 300 copies of the menu (bench/bench_paper_page.py).
(function () {
  "use strict";
  var template = document.getElementById("section-menu");
  if (!template || !template.content) { return; }
  var placeholder = template.getAttribute("data-base");  // "/sections/0"
  var links = document.querySelectorAll('.section-actions > a[href$="/actions"]');
  Array.prototype.forEach.call(links, function (link) {
    var base = link.getAttribute("href").replace(/\/actions$/, "");
    var menu = template.content.firstElementChild.cloneNode(true);
    Array.prototype.forEach.call(menu.querySelectorAll("a[href]"), function (a) {
      var href = a.getAttribute("href");
      if (href.indexOf(placeholder + "/") === 0) { a.setAttribute("href", base + href.slice(placeholder.length)); }
    });
    link.parentNode.replaceChild(menu, link);
  });
  // One menu open at a time; Escape closes it and returns to its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.activeElement && document.activeElement.closest && document.activeElement.closest("details.action-menu[open]");
    if (open) { open.open = false; open.querySelector("summary").focus(); }
  });
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.matches || !details.matches("details.action-menu") || !details.open) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("details.action-menu[open]"), function (other) {
      if (other !== details) { other.open = false; }
    });
  }, true);
})();
