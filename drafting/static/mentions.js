// @-mentions in comment boxes (textareas with data-mention-url): typing "@" and a part of a
// name lists the paper's members (JSON from /papers/<id>/mentionable); ArrowUp/ArrowDown
// choose, Enter or Tab take, Escape closes. The ARIA 1.2 combobox pattern: the textarea is
// the combobox, the list its listbox, the chosen option named by aria-activedescendant.
// The text gets "@[Name](user:<id>)": the id is the stable reference, the name is shown as
// the member's current display name wherever the comment is read. Without JavaScript
// "@[Name]" and "@e-mail" mentions still work.
(function () {
  "use strict";
  var counter = 0;

  function attach(area) {
    if (!area || area.getAttribute("data-mentions") === "on") { return; }
    var scope = area.closest("[data-mention-url]");
    var url = area.getAttribute("data-mention-url") || (scope && scope.getAttribute("data-mention-url"));
    if (!url || !window.fetch) { return; }
    area.setAttribute("data-mentions", "on");
    var hadFocus = document.activeElement === area;
    counter += 1;
    var listId = "mention-list-" + counter;
    var wrap = document.createElement("div");
    wrap.className = "mention-wrap";
    area.parentNode.insertBefore(wrap, area);
    wrap.appendChild(area);
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "mention-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", document.documentElement.lang === "de" ? "Mitglieder" : "Members");
    list.hidden = true;
    wrap.appendChild(list);
    area.setAttribute("role", "combobox");
    area.setAttribute("aria-autocomplete", "list");
    area.setAttribute("aria-controls", listId);
    area.setAttribute("aria-expanded", "false");

    var members = [];
    var active = -1;
    var start = -1;  // position of the "@" being completed
    var request = 0;

    function close() {
      list.hidden = true;
      list.textContent = "";
      members = [];
      active = -1;
      start = -1;
      area.setAttribute("aria-expanded", "false");
      area.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0 && list.children[index]) {
        area.setAttribute("aria-activedescendant", list.children[index].id);
        list.children[index].scrollIntoView({ block: "nearest" });
      } else {
        area.removeAttribute("aria-activedescendant");
      }
    }

    function take(index) {
      var member = members[index];
      if (!member || start < 0) { return; }
      var before = area.value.slice(0, start);
      var after = area.value.slice(area.selectionStart);
      var inserted = member.mention + " ";
      area.value = before + inserted + after;
      var caret = before.length + inserted.length;
      area.setSelectionRange(caret, caret);
      close();
      area.focus();
    }

    function show(found) {
      members = found;
      list.textContent = "";
      if (!found.length) { close(); return; }
      found.forEach(function (member, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.textContent = member.name;
        if (member.organisation) {
          var org = document.createElement("span");
          org.className = "org";
          org.textContent = "(" + member.organisation + ")";
          li.appendChild(org);
        }
        li.addEventListener("mousedown", function (event) { event.preventDefault(); take(i); });
        list.appendChild(li);
      });
      list.hidden = false;
      area.setAttribute("aria-expanded", "true");
      highlight(0);
    }

    function lookUp() {
      var caret = area.selectionStart;
      var text = area.value.slice(0, caret);
      var match = /(^|[\s(])@([^\s@\[\]()]{0,40})$/.exec(text);
      if (!match) { close(); return; }
      start = caret - match[2].length - 1;
      var mine = ++request;
      fetch(url + "?q=" + encodeURIComponent(match[2]), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (response) {
        return response.ok ? response.json() : { members: [] };
      }).then(function (data) {
        if (mine === request && start >= 0) { show(data.members || []); }
      }).catch(close);
    }

    area.addEventListener("input", lookUp);
    area.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight((active + 1) % members.length);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight((active - 1 + members.length) % members.length);
      } else if (event.key === "Enter" || event.key === "Tab") {
        if (active >= 0) { event.preventDefault(); take(active); }
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
    area.addEventListener("blur", function () { setTimeout(close, 150); });
    if (hadFocus) { area.focus(); }
  }

  window.KonzeptwerkMentions = { attach: attach };
  var SELECTOR = "textarea[data-mention-url], [data-mention-url] textarea[name$=body]";
  Array.prototype.forEach.call(document.querySelectorAll(SELECTOR), attach);
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches(SELECTOR)) { attach(target); }
  });
})();
