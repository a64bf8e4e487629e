// Editing together: on the edit page, a heartbeat every few seconds (and on typing) tells the
// server the section's editor is open, shows who else edits it, says when someone saved a
// newer version and merges that version into this editor on request; Ctrl+S / Cmd+S saves.
// Closing the page says goodbye at once. On the paper page, it keeps the "… is editing"
// marks current and moves focus to the section named in the address (after a save).
// Without JavaScript the pages work as before; this only adds awareness.
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[src*='presence.js']");
  if (!script) { return; }
  var csrfMeta = document.querySelector("meta[name=csrf-token]");
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var seconds = parseFloat(script.getAttribute("data-interval")) || 12;
  var interval = Math.max(seconds, 0.5) * 1000;

  function text(name, values) {
    var template = script.getAttribute(name) || "";
    return template.replace(/%\((\w+)\)s/g, function (_all, key) {
      return values && key in values ? String(values[key]) : "";
    });
  }

  function element(tag, content, className) {
    var node = document.createElement(tag);
    if (content) { node.textContent = content; }
    if (className) { node.className = className; }
    return node;
  }

  function post(url, payload, keepalive) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(payload || {}),
      credentials: "same-origin",
      keepalive: !!keepalive
    });
  }

  // ---------------------------------------------------------------- paper page
  var paperUrl = script.getAttribute("data-paper-presence-url");
  if (paperUrl) {
    var match = /^#section-(\d+)$/.exec(window.location.hash);
    var heading = match && document.getElementById("section-" + match[1] + "-h");
    if (heading) {
      // After the browser's own jump to the fragment, which would otherwise reset the focus.
      var focusHeading = function () {
        setTimeout(function () { heading.setAttribute("tabindex", "-1"); heading.focus(); }, 0);
      };
      if (document.readyState === "complete") { focusHeading(); } else { window.addEventListener("load", focusHeading); }
    }
    // The page carries a presence line only for sections someone is editing right now;
    // the others get theirs here when it is needed (bench/bench_paper_page.py).
    if (!document.querySelector(".paper > section")) { return; }
    var markOf = function (sectionId, create) {
      var mark = document.querySelector("[data-presence-section='" + sectionId + "']");
      var heading = !mark && create && document.getElementById("section-" + sectionId + "-h");
      if (heading) {
        mark = document.createElement("p");
        mark.className = "presence-mark";
        mark.setAttribute("data-presence-section", sectionId);
        mark.hidden = true;
        heading.parentNode.insertBefore(mark, heading.nextSibling);
      }
      return mark;
    };
    var refresh = function () {
      if (document.visibilityState === "hidden") { return; }
      fetch(paperUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          Object.keys(data.sections).forEach(function (id) {
            if ((data.sections[id] || []).length) { markOf(id, true); }
          });
          var marks = document.querySelectorAll("[data-presence-section]");
          Array.prototype.forEach.call(marks, function (mark) {
            var entries = data.sections[mark.getAttribute("data-presence-section")] || [];
            var line = entries.map(function (e) {
              return text("data-editing-text", { name: e.name, organisation: e.organisation });
            }).join(" · ");
            if (mark.textContent !== line) { mark.textContent = line; }
            mark.hidden = !entries.length;
          });
        })
        .catch(function () { /* presence is a courtesy: try again next time */ });
    };
    setInterval(refresh, interval);
    return;
  }

  // ---------------------------------------------------------------- edit page
  var form = document.getElementById("section-editor");
  var presenceUrl = script.getAttribute("data-presence-url");
  if (!form || !presenceUrl) { return; }
  var title = form.querySelector("[name=title]");
  var body = form.querySelector("[name=body]");
  var base = form.querySelector("[name=base_version]");
  var who = document.getElementById("presence-status");
  var newer = document.getElementById("newer-version");
  var actions = document.getElementById("newer-actions");
  var mergeButton = document.getElementById("merge-newer");
  var outcome = document.getElementById("merge-outcome");
  var shownHead = 0;
  var lastBeat = 0;
  var closed = false;
  var submitting = false;

  function showOthers(others) {
    var lines = others.filter(function (e) { return e.editing; }).map(function (e) {
      return text("data-editing-text", { name: e.name, organisation: e.organisation });
    });
    var now = Array.prototype.map.call(who.children, function (p) { return p.textContent; });
    if (now.join("\n") === lines.join("\n")) { return; }  // unchanged: nothing to announce
    who.textContent = "";
    lines.forEach(function (line) { who.appendChild(element("p", line)); });
  }

  function showNewer(head) {
    var baseNumber = parseInt(base.value, 10) || 0;
    if (!head || head.version <= baseNumber) {
      if (shownHead) { newer.textContent = ""; actions.hidden = true; shownHead = 0; }
      return;
    }
    if (head.version === shownHead) { return; }
    shownHead = head.version;
    var line = element("p", null, "notice");
    line.appendChild(document.createTextNode(
      text("data-newer-text", { name: head.author, n: head.version }) + " — "));
    var link = element("a", text("data-diff-text"));
    link.href = head.compare_url + "?from=" + baseNumber + "&to=" + head.version;
    line.appendChild(link);
    newer.textContent = "";
    newer.appendChild(line);
    actions.hidden = false;
    outcome.textContent = "";
  }

  function beat() {
    if (closed || submitting) { return; }
    lastBeat = Date.now();
    post(presenceUrl, { editing: true })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        showOthers(data.others || []);
        showNewer(data.head);
      })
      .catch(function () { /* next beat */ });
  }

  function leave() {
    if (closed) { return; }
    closed = true;
    var url = script.getAttribute("data-leave-url");
    try {
      post(url, {}, true);
    } catch (error) {
      if (navigator.sendBeacon) {
        var data = new FormData();
        data.append("csrf_token", csrf);
        navigator.sendBeacon(url, data);
      }
    }
  }

  function setBody(value) {
    body.value = value;
    // The visual editor (editor.bundle.js) reloads its document from the textarea.
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function merge() {
    mergeButton.disabled = true;
    outcome.textContent = "";
    post(script.getAttribute("data-merge-url"), {
      base_version: base.value, title: title.value, body: body.value
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (data) {
      setBody(data.body);
      title.value = data.title;
      base.value = String(data.base_version);
      var summary = data.conflicts.length || data.title_conflict
        ? text("data-conflicts-text", { n: data.base_version, name: data.author })
        : text("data-merged-text", { n: data.base_version });
      outcome.appendChild(element("p", summary + " " + text("data-base-text", { n: data.base_version })));
      if (data.title_conflict) { data.conflicts.unshift(data.title_conflict); }
      if (data.conflicts.length) {
        var list = element("ul", null, "merge-conflicts");
        data.conflicts.forEach(function (c) {
          var item = element("li");
          item.appendChild(element("p", text("data-theirs-text", { name: data.author })));
          item.appendChild(element("blockquote", c.theirs || "—"));
          item.appendChild(element("p", text("data-yours-text")));
          item.appendChild(element("blockquote", c.yours || "—"));
          list.appendChild(item);
        });
        outcome.appendChild(list);
      }
      newer.textContent = "";
      shownHead = 0;
      actions.hidden = true;
      var visual = body.hidden && body.parentNode.querySelector("[role=textbox]");
      (visual || body).focus();
    }).catch(function () {
      outcome.appendChild(element("p", text("data-merge-error")));
    }).then(function () { mergeButton.disabled = false; });
  }

  mergeButton.addEventListener("click", merge);

  form.addEventListener("input", function () {
    // Typing refreshes presence, at most every few seconds.
    if (Date.now() - lastBeat > Math.min(interval, 5000)) { beat(); }
  });
  form.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === "s" || event.key === "S")) {
      event.preventDefault();
      var button = form.querySelector("[type=submit]");
      if (form.requestSubmit) { form.requestSubmit(button || undefined); } else if (button) { button.click(); }
    }
  });
  form.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("pagehide", leave);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { closed = false; submitting = false; beat(); }  // back from the cache
  });

  beat();
  setInterval(beat, interval);
})();
