// Search: "/" focuses the search box; ?highlight=… marks the found words on the page it leads to.
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    var box = document.getElementById("search-q") || document.getElementById("site-search-q");
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });

  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  function markWords(root, words) {
    var pattern = new RegExp("(" + words.map(escapeRegExp).join("|") + ")", "gi");
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        var parent = node.parentNode;
        if (!parent || /^(SCRIPT|STYLE|TEXTAREA|MARK|OPTION)$/.test(parent.nodeName)) {
          return NodeFilter.FILTER_REJECT;
        }
        pattern.lastIndex = 0;
        return pattern.test(node.nodeValue) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
      }
    });
    var nodes = [];
    while (walker.nextNode()) { nodes.push(walker.currentNode); }
    var first = null;
    nodes.forEach(function (node) {
      var text = node.nodeValue;
      var fragment = document.createDocumentFragment();
      var last = 0;
      pattern.lastIndex = 0;
      var match;
      while ((match = pattern.exec(text)) !== null) {
        if (match.index > last) {
          fragment.appendChild(document.createTextNode(text.slice(last, match.index)));
        }
        var mark = document.createElement("mark");
        mark.className = "search-hit";
        mark.textContent = match[0];
        fragment.appendChild(mark);
        if (!first) { first = mark; }
        last = match.index + match[0].length;
      }
      fragment.appendChild(document.createTextNode(text.slice(last)));
      node.parentNode.replaceChild(fragment, node);
    });
    return first;
  }

  function highlight() {
    var raw = new URLSearchParams(window.location.search).get("highlight");
    if (!raw) { return; }
    var words = raw.split(/\s+/).filter(function (w) { return w.length > 1; }).slice(0, 12);
    if (!words.length) { return; }
    var root = null;
    if (window.location.hash.length > 1) {
      root = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
    }
    var first = markWords(root || document.getElementById("main") || document.body, words);
    if (first) {
      first.scrollIntoView({block: "center"});
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", highlight);
  } else {
    highlight();
  }
})();
