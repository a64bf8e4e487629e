// "Comment on this passage": selecting text inside a rendered section body (an element with
// data-comment-url) offers a button right after that body. On the discussion page
// (data-comment-form names the form) it fills the form's "Quoted passage" field and moves
// to the comment field; on the paper page it opens the discussion page with the quote filled.
// Without JavaScript the "Quoted passage" field of the discussion page does the same.
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[src*='comments.js']");
  if (!script || !window.getSelection) { return; }
  // The paper page names no address per section (bench_paper_page.py): a section's
  // discussion is "<data-sections-url><id>/comments", the id from its <section id="section-N">.
  var BODIES = "[data-comment-url], .paper > section .section-body";
  var sectionsUrl = script.getAttribute("data-sections-url");
  function commentUrl(body) {
    var own = body.getAttribute("data-comment-url");
    if (own) { return own; }
    var section = body.closest(".paper > section");
    return sectionsUrl && section ? sectionsUrl + section.id.replace("section-", "") + "/comments" : null;
  }
  var bodies = document.querySelectorAll(BODIES);
  if (!bodies.length) { return; }
  var MAX_QUOTE = 2000;

  var bar = document.createElement("p");
  bar.className = "comment-on-passage";
  bar.hidden = true;
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = (document.getElementById("margin-comment-template") && script.getAttribute("data-margin-label")) ||
    script.getAttribute("data-label") || "Comment on this passage";
  bar.appendChild(button);
  var live = document.createElement("p");
  live.className = "visually-hidden";
  live.setAttribute("role", "status");
  live.setAttribute("aria-live", "polite");
  document.body.appendChild(live);

  var chosen = null;  // { text: the selected words, body: the section body they are in }
  var hideTimer = null;

  function bodyOf(node) {
    var element = node && (node.nodeType === 1 ? node : node.parentElement);
    return element ? element.closest(BODIES) : null;
  }

  function hide() {
    bar.hidden = true;
    chosen = null;
  }

  function show(text, body) {
    var announce = !chosen || chosen.body !== body || bar.hidden;
    chosen = { text: text, body: body };
    if (bar.parentNode !== body.parentNode || bar.previousSibling !== body) {
      body.parentNode.insertBefore(bar, body.nextSibling);
    }
    bar.hidden = false;
    if (announce) {
      live.textContent = (document.getElementById("margin-comment-template") &&
        script.getAttribute("data-margin-announce")) || script.getAttribute("data-announce") || "";
    }
  }

  function onSelectionChange() {
    var selection = window.getSelection();
    if (hideTimer) { clearTimeout(hideTimer); hideTimer = null; }
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) {
      // Give keyboard users the moment it takes to Tab to the button.
      hideTimer = setTimeout(function () {
        if (document.activeElement !== button) { hide(); }
      }, 400);
      return;
    }
    var range = selection.getRangeAt(0);
    var body = bodyOf(range.startContainer);
    var text = selection.toString().replace(/\s+/g, " ").trim();
    if (!body || body !== bodyOf(range.endContainer) || !text) { hide(); return; }
    show(text.slice(0, MAX_QUOTE), body);
  }

  function commentOnPassage() {
    if (!chosen) { return; }
    var body = chosen.body;
    var formId = body.getAttribute("data-comment-form");
    var form = formId ? document.getElementById(formId) : null;
    if (form) {
      var quote = form.querySelector("[name$=quote]");
      var comment = form.querySelector("textarea[name$=body]");
      if (quote) { quote.value = chosen.text; }
      hide();
      form.scrollIntoView({ block: "start" });
      if (comment) { comment.focus(); }
      return;
    }
    var template = document.getElementById("margin-comment-template");
    // The discussion page's address takes the new comment (GET shows it, POST adds to it).
    var post = commentUrl(body);
    if (template && post && template.content) {
      openMarginBox(body, post, chosen.text, template);
      return;
    }
    var url = commentUrl(body);
    window.location.href = url + "?quote=" + encodeURIComponent(chosen.text) + "#new-comment";
  }

  // On the paper page: a comment box in the section's margin, next to the passage.
  var boxes = 0;
  function openMarginBox(body, post, text, template) {
    var main = body.closest(".section-main");
    if (!main) {
      // A section without comments has no margin yet: put its body and a new margin side by side.
      main = document.createElement("div");
      main.className = "section-main";
      body.parentNode.insertBefore(main, body);
      main.appendChild(body);
    }
    var aside = main.querySelector(".margin");
    if (!aside) {
      aside = document.createElement("aside");
      aside.className = "margin";
      aside.setAttribute("aria-label", script.getAttribute("data-margin-label") || "Comments");
      main.appendChild(aside);
      main.classList.add("has-margin");
    }
    var old = aside.querySelector("[data-margin-form]");
    if (old) { old.parentNode.removeChild(old); }
    var form = template.content.firstElementChild.cloneNode(true);
    boxes += 1;
    var id = "margin-comment-body-" + boxes;
    form.setAttribute("action", post);
    form.querySelector("[name=quote]").value = text;
    form.querySelector("[data-quote-shown]").textContent = text.length > 120 ? text.slice(0, 119) + "…" : text;
    var label = form.querySelector("label[data-for]");
    var area = form.querySelector("textarea");
    area.id = id;
    label.setAttribute("for", id);
    // Beside the passage: the box takes the place of the passage in the margin's order.
    var range = window.getSelection().rangeCount ? window.getSelection().getRangeAt(0) : null;
    form.setAttribute("data-top", range ? String(range.getBoundingClientRect().top - main.getBoundingClientRect().top) : "0");
    aside.insertBefore(form, aside.firstChild);
    form.querySelector("[data-cancel]").addEventListener("click", function () {
      form.parentNode.removeChild(form);
      body.setAttribute("tabindex", "-1");
      body.focus();
      align();
    });
    if (window.KonzeptwerkMentions) { window.KonzeptwerkMentions.attach(area); }
    hide();
    align();
    area.focus();
  }

  // Wide screens: each thread beside its marked passage, in text order, never overlapping.
  var wide = window.matchMedia ? window.matchMedia("(min-width: 60rem)") : null;
  function align() {
    var asides = document.querySelectorAll(".section-main .margin");
    Array.prototype.forEach.call(asides, function (aside) {
      var items = Array.prototype.filter.call(aside.children, function (el) {
        return el.matches(".margin-thread, [data-margin-form]");
      });
      items.forEach(function (el) { el.style.marginTop = ""; });
      if (!wide || !wide.matches) { return; }
      var main = aside.parentNode;
      var base = aside.getBoundingClientRect().top;
      var mainTop = main.getBoundingClientRect().top;
      var bottom = 0;
      items.forEach(function (el) {
        var want = null;
        var anchor = el.getAttribute("data-anchor");
        if (anchor) {
          var mark = document.getElementById("anchor-" + anchor);
          if (mark) { want = mark.getBoundingClientRect().top - base; }
        } else if (el.hasAttribute("data-top")) {
          want = parseFloat(el.getAttribute("data-top")) - (base - mainTop);
        }
        var top = Math.max(bottom, want === null ? bottom : want);
        el.style.marginTop = (top - bottom) + "px";
        bottom = top + el.getBoundingClientRect().height + 8;
      });
    });
  }
  // A thread and its passage go together: focus or hover on one outlines the other, and a
  // click on a marked passage moves to its thread in the margin.
  function pair(id, on) {
    var marks = document.querySelectorAll("mark.anchor[data-comment='" + id + "']");
    Array.prototype.forEach.call(marks, function (mark) { mark.classList.toggle("active", on); });
    var thread = document.querySelector(".margin-thread[data-anchor='" + id + "']");
    if (thread) { thread.classList.toggle("active", on); }
  }
  ["focusin", "mouseover"].forEach(function (kind) {
    document.addEventListener(kind, function (event) {
      var el = event.target.closest && event.target.closest(".margin-thread[data-anchor], mark.anchor");
      if (el) { pair(el.getAttribute("data-anchor") || el.getAttribute("data-comment"), true); }
    });
  });
  ["focusout", "mouseout"].forEach(function (kind) {
    document.addEventListener(kind, function (event) {
      var el = event.target.closest && event.target.closest(".margin-thread[data-anchor], mark.anchor");
      if (el) { pair(el.getAttribute("data-anchor") || el.getAttribute("data-comment"), false); }
    });
  });
  document.addEventListener("click", function (event) {
    var mark = event.target.closest && event.target.closest(".section-main mark.anchor");
    var selection = window.getSelection();
    if (!mark || (selection && !selection.isCollapsed)) { return; }
    var thread = document.querySelector(".margin-thread[data-anchor='" + mark.getAttribute("data-comment") + "']");
    if (thread) {
      thread.setAttribute("tabindex", "-1");
      thread.focus();
    }
  });
  align();
  if (wide && wide.addEventListener) { wide.addEventListener("change", align); }
  window.addEventListener("load", align);
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    if (resizeTimer) { clearTimeout(resizeTimer); }
    resizeTimer = setTimeout(align, 150);
  });
  document.addEventListener("toggle", function () { align(); }, true);

  // Keep the selection when the button is pressed with the mouse.
  button.addEventListener("mousedown", function (event) { event.preventDefault(); });
  button.addEventListener("click", commentOnPassage);
  button.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && chosen) {
      var body = chosen.body;
      hide();
      body.setAttribute("tabindex", "-1");
      body.focus();
    }
  });
  button.addEventListener("blur", function () {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed) { hide(); }
  });

  var pending = null;
  document.addEventListener("selectionchange", function () {
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(onSelectionChange, 120);
  });
})();
