// The visual section editor: progressively enhances every Markdown textarea inside an
// element marked `data-visual-editor`. The textarea stays the form field that is
// submitted; the editor only writes its Markdown into it. Labels come from the
// <script type="application/json" id="editor-labels"> element the template renders.
import { Editor, Extension } from "@tiptap/core";
import { TableMap } from "@tiptap/pm/tables";
import { extensions } from "./extensions.js";
import { markdownManager } from "./markdown.js";
import { LOADING_NOTES, captionSource, captionText, nextFootnoteLabel, notesEnd } from "./notes.js";
import { cleanPastedHtml } from "./paste.js";
import { trackedChanges } from "./tracked.js";

const SYNC_DELAY_MS = 250;
let counter = 0;

function labels() {
  const element = document.getElementById("editor-labels");
  return element ? JSON.parse(element.textContent) : {};
}

/** Set the alignment of the whole column the selection is in. */
function alignColumn(editor, align) {
  const { state } = editor;
  const $pos = state.selection.$from;
  for (let depth = $pos.depth; depth > 0; depth -= 1) {
    const node = $pos.node(depth);
    if (node.type.name !== "table") { continue; }
    const tableStart = $pos.start(depth);
    const map = TableMap.get(node);
    const cellPos = $pos.before(depth + 2) - tableStart;
    const column = map.colCount(cellPos);
    const tr = state.tr;
    for (let row = 0; row < map.height; row += 1) {
      const pos = tableStart + map.map[row * map.width + column];
      const cell = tr.doc.nodeAt(pos);
      if (cell) { tr.setNodeMarkup(pos, null, { ...cell.attrs, align }); }
    }
    editor.view.dispatch(tr);
    editor.commands.focus();
    return true;
  }
  return false;
}

/** Accept http(s), mailto and relative targets only, as the renderer does. */
function safeHref(value) {
  const href = value.trim();
  if (!href) { return ""; }
  if (/^(https?:|mailto:)/i.test(href) || /^[/#?.]/.test(href)) { return href; }
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) { return null; }
  return `https://${href}`;
}

class VisualEditor {
  constructor(container, text) {
    this.text = text;
    this.textarea = container.querySelector("textarea");
    this.form = this.textarea.form;
    this.md = markdownManager(extensions());
    this.uploadUrl = container.dataset.figureUpload || "";
    const figures = container.dataset.figures ? document.getElementById(container.dataset.figures) : null;
    this.paperFigures = figures ? JSON.parse(figures.textContent) : []; // [[id, caption], …]
    // Suggest mode: the base text travels as JSON data (<script type="application/json">).
    const base = container.dataset.suggestBase ? document.getElementById(container.dataset.suggestBase) : null;
    this.baseText = base ? JSON.parse(base.textContent) : null;
    this.original = this.textarea.value;
    this.originalDoc = this.md.parse(this.original);
    this.originalMarkdownCache = null;
    this.lastWritten = this.original;
    this.timer = null;
    this.id = `visual-editor-${(counter += 1)}`;
    this.build(container);
  }

  build(container) {
    const label = this.form.querySelector(`label[for="${this.textarea.id}"]`);
    if (label && !label.id) { label.id = `${this.textarea.id}-label`; }
    this.root = document.createElement("div");
    this.root.className = "visual-editor";
    this.toolbar = document.createElement("div");
    this.toolbar.className = "ve-toolbar";
    this.toolbar.setAttribute("role", "toolbar");
    this.toolbar.setAttribute("aria-label", this.text.toolbar || "Formatting");
    this.toolbar.setAttribute("aria-controls", this.id);
    this.surface = document.createElement("div");
    this.surface.className = "ve-surface";
    this.notice = document.createElement("p");
    this.notice.className = "hint ve-notice";
    this.notice.hidden = true;
    this.root.append(this.toolbar, this.surface);
    this.textarea.before(this.root);
    this.textarea.after(this.notice);

    const self = this;
    const shortcuts = Extension.create({
      name: "konzeptwerkShortcuts",
      addKeyboardShortcuts() {
        return {
          "Mod-k": () => { self.openLinkDialog(); return true; },
          // A selected figure (arrow keys reach it as one object): Enter edits its caption.
          // A selected footnote number: Enter goes to its note, as a double click in Word.
          Enter: ({ editor }) => {
            const { selection } = editor.state;
            if (!selection.node) { return false; }
            if (selection.node.type.name === "figure") { self.editCaption(selection.from, selection.node); return true; }
            if (selection.node.type.name === "footnoteReference") { return self.goToNote(selection.node.attrs.label); }
            return false;
          },
          Escape: () => { self.leave(); return true; },
        };
      },
    });
    this.editor = new Editor({
      element: this.surface,
      injectCSS: false, // the base rules are in editor.css: no <style> element at run time
      extensions: [
        ...extensions({ text: this.text, onEditFigure: (editor, pos, node) => this.editCaption(pos, node) }),
        shortcuts,
        ...(this.baseText === null ? [] : [trackedChanges(this.md.parse(this.baseText), this.text)]),
      ],
      content: this.originalDoc,
      editorProps: {
        attributes: {
          id: this.id,
          class: "ve-content",
          role: "textbox",
          "aria-multiline": "true",
          ...(label ? { "aria-labelledby": label.id } : { "aria-label": this.text.editor || "Text" }),
          ...(this.textarea.getAttribute("aria-describedby")
            ? { "aria-describedby": this.textarea.getAttribute("aria-describedby") } : {}),
          spellcheck: "true",
          lang: document.documentElement.lang || "de",
        },
        transformPastedHTML: cleanPastedHtml,
      },
      onUpdate: () => this.scheduleSync(),
      onSelectionUpdate: () => this.refresh(),
      onTransaction: () => this.refresh(),
    });
    if (this.baseText !== null) { this.root.classList.add("ve-suggest"); }
    this.buildToolbar();
    this.buildDialog();
    if (this.uploadUrl) { this.buildFigureDialog(); }

    this.form.addEventListener("submit", () => { if (!this.source) { this.sync(); } });
    // A draft restored by the autosave script (editor.js) arrives through the textarea.
    // So does text put in by other scripts (a figure inserted, a newer version merged in):
    // what the visual editor cannot keep (footnotes, figures) switches to the Markdown source
    // instead of being lost on the next save.
    this.textarea.addEventListener("input", () => {
      if (this.source || this.textarea.value === this.lastWritten) { return; }
      if (this.md.lossy(this.textarea.value)) {
        clearTimeout(this.timer); // a pending sync would write the older visual text back
        this.lastWritten = this.textarea.value;
        this.notice.textContent = this.text.lossy || "";
        this.notice.hidden = false;
        this.source = null; // switch without syncing: the textarea holds the newer text
        this.setSource(true);
        return;
      }
      this.load(this.textarea.value);
    });
    if (this.md.lossy(this.original)) {
      this.notice.textContent = this.text.lossy || "";
      this.notice.hidden = false;
      this.setSource(true);
    } else {
      this.setSource(false);
    }
    this.root.dataset.ready = "true";
    const idle = window.requestIdleCallback || ((callback) => setTimeout(callback, 200));
    idle(() => this.originalMarkdown);
  }

  button(name, glyph, run, options = {}) {
    const element = document.createElement("button");
    element.type = "button";
    element.className = `ve-button ve-${name}`;
    element.dataset.action = name;
    element.textContent = glyph;
    const label = this.text[name] || name;
    element.setAttribute("aria-label", label);
    element.title = options.shortcut ? `${label} (${options.shortcut})` : label;
    if (options.toggle) { element.setAttribute("aria-pressed", "false"); }
    element.tabIndex = -1;
    // A mouse click leaves the caret in the text (as in Word); keyboard users reach the
    // buttons through the toolbar's tab stop.
    element.addEventListener("mousedown", (event) => { if (!options.always) { event.preventDefault(); } });
    element.addEventListener("click", () => {
      if (element.getAttribute("aria-disabled") === "true") { return; }
      run();
    });
    this.buttons.push({ element, ...options });
    return element;
  }

  group(...elements) {
    const span = document.createElement("span");
    span.className = "ve-group";
    span.append(...elements);
    this.toolbar.append(span);
  }

  buildToolbar() {
    this.buttons = [];
    const chain = () => this.editor.chain().focus();
    const inTable = () => this.editor.isActive("table");
    this.group(
      this.button("undo", "↶", () => chain().undo().run(), { shortcut: "Ctrl+Z", can: () => this.editor.can().undo() }),
      this.button("redo", "↷", () => chain().redo().run(), { shortcut: "Ctrl+Y", can: () => this.editor.can().redo() }),
    );
    this.group(
      this.button("bold", "B", () => chain().toggleBold().run(), { shortcut: "Ctrl+B", toggle: true, active: () => this.editor.isActive("bold") }),
      this.button("italic", "I", () => chain().toggleItalic().run(), { shortcut: "Ctrl+I", toggle: true, active: () => this.editor.isActive("italic") }),
      this.button("code", "</>", () => chain().toggleCode().run(), { toggle: true, active: () => this.editor.isActive("code") }),
      this.button("link", "↗", () => this.openLinkDialog(), { shortcut: "Ctrl+K", toggle: true, active: () => this.editor.isActive("link") }),
    );
    this.group(
      this.button("heading1", this.text.heading1Short || "H1", () => chain().toggleHeading({ level: 1 }).run(), { toggle: true, active: () => this.editor.isActive("heading", { level: 1 }) }),
      this.button("heading2", this.text.heading2Short || "H2", () => chain().toggleHeading({ level: 2 }).run(), { toggle: true, active: () => this.editor.isActive("heading", { level: 2 }) }),
      this.button("blockquote", "❝", () => chain().toggleBlockquote().run(), { toggle: true, active: () => this.editor.isActive("blockquote") }),
      this.button("hr", "―", () => chain().setHorizontalRule().run()),
    );
    this.group(
      this.button("bulletList", "•", () => chain().toggleBulletList().run(), { toggle: true, active: () => this.editor.isActive("bulletList") }),
      this.button("orderedList", "1.", () => chain().toggleOrderedList().run(), { toggle: true, active: () => this.editor.isActive("orderedList") }),
      this.button("outdent", "⇤", () => chain().liftListItem("listItem").run(), { shortcut: "Shift+Tab", can: () => this.editor.can().liftListItem("listItem") }),
      this.button("indent", "⇥", () => chain().sinkListItem("listItem").run(), { shortcut: "Tab", can: () => this.editor.can().sinkListItem("listItem") }),
      this.button("startNumber", "1…", () => this.openStartDialog(), { can: () => this.editor.isActive("orderedList") }),
    );
    this.group(
      this.button("table", "▦", () => chain().insertTable({ rows: 3, cols: 3, withHeaderRow: true }).run(), { can: () => !inTable() }),
      this.button("addRow", "+≡", () => chain().addRowAfter().run(), { can: inTable }),
      this.button("deleteRow", "−≡", () => chain().deleteRow().run(), { can: inTable }),
      this.button("addColumn", "+‖", () => chain().addColumnAfter().run(), { can: inTable }),
      this.button("deleteColumn", "−‖", () => chain().deleteColumn().run(), { can: inTable }),
      this.button("headerRow", "▔", () => chain().toggleHeaderRow().run(), { can: inTable }),
      this.button("alignLeft", "⇐", () => alignColumn(this.editor, "left"), { can: inTable }),
      this.button("alignCenter", "⇔", () => alignColumn(this.editor, "center"), { can: inTable }),
      this.button("alignRight", "⇒", () => alignColumn(this.editor, "right"), { can: inTable }),
    );
    this.group(
      // Not while a figure is selected: the number would replace it.
      this.button("footnote", "ab¹", () => this.insertFootnote(), { can: () => !this.editor.state.selection.node && this.editor.can().insertContent({ type: "footnoteReference", attrs: { label: "1" } }) }),
      ...(this.uploadUrl ? [this.button("figure", "▨", () => this.openFigureDialog(), { can: () => !inTable() })] : []),
    );
    this.sourceButton = this.button("markdown", "Markdown", () => this.setSource(!this.source), { toggle: true, always: true });
    this.sourceButton.classList.add("ve-source");
    this.group(this.sourceButton);
    this.buttons[0].element.tabIndex = 0;
    this.toolbar.addEventListener("keydown", (event) => this.rove(event));
  }

  // One tab stop for the whole toolbar; arrows, Home and End move inside it.
  rove(event) {
    const all = this.buttons.map((b) => b.element);
    const index = all.indexOf(document.activeElement);
    if (index < 0) { return; }
    let next = null;
    if (event.key === "ArrowRight") { next = (index + 1) % all.length; }
    else if (event.key === "ArrowLeft") { next = (index - 1 + all.length) % all.length; }
    else if (event.key === "Home") { next = 0; }
    else if (event.key === "End") { next = all.length - 1; }
    if (next === null) { return; }
    event.preventDefault();
    all[index].tabIndex = -1;
    all[next].tabIndex = 0;
    all[next].focus();
  }

  refresh() {
    if (!this.buttons) { return; }
    for (const b of this.buttons) {
      const usable = b.always || (!this.source && (!b.can || b.can()));
      b.element.setAttribute("aria-disabled", usable ? "false" : "true");
      if (b.toggle && b.element !== this.sourceButton) {
        b.element.setAttribute("aria-pressed", !this.source && b.active && b.active() ? "true" : "false");
      }
    }
  }

  buildDialog() {
    this.dialog = document.createElement("dialog");
    this.dialog.className = "ve-dialog";
    this.dialog.setAttribute("aria-labelledby", `${this.id}-dialog-title`);
    this.dialog.innerHTML = `
      <form method="dialog">
        <h2 id="${this.id}-dialog-title"></h2>
        <p><label for="${this.id}-dialog-input"></label><br>
           <input id="${this.id}-dialog-input" autocomplete="off"></p>
        <p class="errors" role="alert"></p>
        <p class="actions">
          <button type="submit" value="ok" class="primary"></button>
          <button type="submit" value="remove" class="ve-remove"></button>
          <button type="submit" value="cancel" formnovalidate></button>
        </p>
      </form>`;
    const [ok, remove, cancel] = this.dialog.querySelectorAll("button");
    ok.textContent = this.text.ok || "OK";
    remove.textContent = this.text.removeLink || "Remove link";
    cancel.textContent = this.text.cancel || "Cancel";
    // Outside the section form: a form may not hold another one.
    document.body.append(this.dialog);
  }

  ask({ title, label, value, type, removable }, onClose) {
    const input = this.dialog.querySelector("input");
    this.dialog.querySelector("h2").textContent = title;
    this.dialog.querySelector("label").textContent = label;
    this.dialog.querySelector(".errors").textContent = "";
    this.dialog.querySelector(".ve-remove").hidden = !removable;
    input.type = type;
    input.value = value;
    if (type === "number") { input.min = "0"; input.max = "999999999"; }
    this.dialog.returnValue = "";
    this.dialog.onclose = null;
    this.dialog.addEventListener("close", () => {
      const answer = this.dialog.returnValue;
      if (answer === "ok" || answer === "remove") { onClose(answer, input.value); }
      this.editor.commands.focus();
    }, { once: true });
    this.dialog.showModal();
    input.focus();
    input.select();
  }

  openLinkDialog() {
    if (this.source) { return; }
    const current = this.editor.getAttributes("link").href || "";
    this.ask({
      title: this.text.link || "Link",
      label: this.text.linkAddress || "Address",
      value: current,
      type: "text",
      removable: Boolean(current),
    }, (answer, value) => {
      const chain = this.editor.chain().focus().extendMarkRange("link");
      const href = answer === "remove" ? "" : safeHref(value);
      if (href === null) { return; }
      if (!href) { chain.unsetLink().run(); return; }
      if (this.editor.state.selection.empty && !this.editor.isActive("link")) {
        this.editor.chain().focus().insertContent({ type: "text", text: value.trim(), marks: [{ type: "link", attrs: { href } }] }).run();
      } else {
        chain.setLink({ href }).run();
      }
    });
  }

  openStartDialog() {
    const current = this.editor.getAttributes("orderedList").start || 1;
    this.ask({
      title: this.text.startNumber || "Start number",
      label: this.text.startNumberLabel || "First number",
      value: String(current),
      type: "number",
      removable: false,
    }, (_answer, value) => {
      const start = Number.parseInt(value, 10);
      if (Number.isFinite(start) && start >= 0) {
        this.editor.chain().focus().updateAttributes("orderedList", { start }).run();
      }
    });
  }

  // As in Word: the number goes where the caret is, the note's text under the section's
  // other notes (at its end), and the caret moves there to write it.
  insertFootnote() {
    if (this.source || this.editor.state.selection.node) { return; }
    const label = nextFootnoteLabel(this.editor.state.doc);
    const { schema } = this.editor.state;
    const { tr } = this.editor.state;
    tr.replaceSelectionWith(schema.nodes.footnoteReference.create({ label }), false);
    const end = notesEnd(tr.doc);
    tr.insert(end, schema.nodes.footnoteDefinition.create({ label }, schema.nodes.paragraph.create()));
    tr.setSelection(this.editor.state.selection.constructor.near(tr.doc.resolve(end + 2)));
    tr.scrollIntoView();
    this.editor.view.dispatch(tr);
    this.editor.commands.focus();
  }

  goToNote(label) {
    let end = null;
    this.editor.state.doc.descendants((node, pos) => {
      if (end === null && node.type.name === "footnoteDefinition" && node.attrs.label === label) {
        end = pos + node.nodeSize - 1;
      }
      return end === null;
    });
    if (end === null) { return false; }
    const { state } = this.editor;
    this.editor.view.dispatch(state.tr.setSelection(state.selection.constructor.near(state.doc.resolve(end), -1)).scrollIntoView());
    return true;
  }

  editCaption(pos, node) {
    if (this.source) { return; }
    this.ask({
      title: this.text.editCaption || "Edit caption",
      label: this.text.caption || "Caption",
      value: captionText(node.attrs.caption),
      type: "text",
      removable: false,
    }, (_answer, value) => {
      const current = this.editor.state.doc.nodeAt(pos);
      if (!current || current.type.name !== "figure") { return; }
      this.editor.view.dispatch(this.editor.state.tr.setNodeMarkup(pos, null, { ...current.attrs, caption: captionSource(value) }));
    });
  }

  buildFigureDialog() {
    const id = `${this.id}-figure`;
    this.figureDialog = document.createElement("dialog");
    this.figureDialog.className = "ve-dialog";
    this.figureDialog.setAttribute("aria-labelledby", `${id}-title`);
    this.figureDialog.innerHTML = `
      <form method="dialog">
        <h2 id="${id}-title"></h2>
        <p><label for="${id}-file"></label><br>
           <input type="file" id="${id}-file" accept="image/png,image/jpeg,image/svg+xml,.png,.jpg,.jpeg,.svg"></p>
        <p class="ve-pick"><label for="${id}-pick"></label><br>
           <select id="${id}-pick"><option value=""></option></select></p>
        <p><label for="${id}-caption"></label><br>
           <input id="${id}-caption" maxlength="500" autocomplete="off"></p>
        <p class="errors" role="alert"></p>
        <p class="actions">
          <button type="submit" value="ok" class="primary"></button>
          <button type="submit" value="cancel" formnovalidate></button>
        </p>
      </form>`;
    const [ok, cancel] = this.figureDialog.querySelectorAll("button");
    this.figureDialog.querySelector("h2").textContent = this.text.figure || "Insert figure";
    this.figureDialog.querySelector(`label[for="${id}-file"]`).textContent = this.text.figureFile || "Image file";
    this.figureDialog.querySelector(`label[for="${id}-caption"]`).textContent = this.text.caption || "Caption";
    ok.textContent = this.text.upload || "Upload and insert";
    // Or one of the paper's figures, already uploaded: no upload, the caption is its own.
    const pick = this.figureDialog.querySelector("select");
    this.figureDialog.querySelector(`label[for="${id}-pick"]`).textContent = this.text.pickFigure || "Or one of the paper's figures";
    pick.options[0].textContent = this.text.noFigure || "(none)";
    for (const [figureId, figureCaption] of this.paperFigures) {
      pick.append(new Option(`${figureCaption || this.text.noCaption || "(no caption)"} (${figureId})`, String(figureId)));
    }
    this.figureDialog.querySelector(".ve-pick").hidden = this.paperFigures.length === 0;
    const fileInput = this.figureDialog.querySelector("input[type=file]");
    const relabel = () => {
      const picking = pick.value && !(fileInput.files && fileInput.files.length);
      ok.textContent = picking ? (this.text.insert || "Insert") : (this.text.upload || "Upload and insert");
    };
    pick.addEventListener("change", () => {
      const chosen = this.paperFigures.find(([figureId]) => String(figureId) === pick.value);
      this.figureDialog.querySelector("input:not([type=file])").value = chosen ? chosen[1] : "";
      relabel();
    });
    fileInput.addEventListener("change", relabel);
    this.relabelFigureDialog = relabel;
    cancel.textContent = this.text.cancel || "Cancel";
    this.figureDialog.querySelector("form").addEventListener("submit", (event) => {
      if (event.submitter && event.submitter.value === "ok") {
        event.preventDefault();
        this.uploadFigure(ok);
      }
    });
    this.figureDialog.addEventListener("close", () => this.editor.commands.focus());
    document.body.append(this.figureDialog);
  }

  openFigureDialog() {
    if (this.source) { return; }
    this.figureDialog.querySelector(".errors").textContent = "";
    this.figureDialog.querySelector("input[type=file]").value = "";
    this.figureDialog.querySelector("input:not([type=file])").value = "";
    this.figureDialog.querySelector("select").value = "";
    this.relabelFigureDialog();
    this.figureDialog.showModal();
    this.figureDialog.querySelector("input[type=file]").focus();
  }

  // The image goes through the section's upload route (figure_pages.py), which answers
  // with the figure's Markdown line; the editor places that figure where the caret is.
  uploadFigure(button) {
    const file = this.figureDialog.querySelector("input[type=file]");
    const caption = this.figureDialog.querySelector("input:not([type=file])");
    const errors = this.figureDialog.querySelector(".errors");
    const picked = this.figureDialog.querySelector("select").value;
    if (picked && !(file.files && file.files.length)) {
      this.figureDialog.close();
      this.editor.chain().focus().insertContent({ type: "figure", attrs: { id: picked, caption: captionSource(caption.value) } }).run();
      return;
    }
    if (!file.files || !file.files.length) {
      errors.textContent = this.text.chooseFile || "Choose an image file.";
      file.focus();
      return;
    }
    const data = new FormData();
    const token = this.form.querySelector("[name=csrf_token]");
    if (token) { data.append("csrf_token", token.value); }
    data.append("figure", file.files[0]);
    data.append("figure_caption", caption.value);
    button.disabled = true;
    fetch(this.uploadUrl, { method: "POST", body: data, headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => response.json().catch(() => null).then((answer) => ({ ok: response.ok, answer })))
      .then(({ ok, answer }) => {
        const found = ok && answer && /^!\[((?:[^\]\\]|\\.)*)\]\(figure:(\d+)\)$/.exec(answer.markdown || "");
        if (!found) {
          errors.textContent = (answer && answer.error && answer.error.message) || this.text.uploadError || "The image could not be added.";
          return;
        }
        this.figureDialog.close();
        this.editor.chain().focus().insertContent({ type: "figure", attrs: { id: found[2], caption: found[1] } }).run();
        // The new figure can be picked again from now on.
        this.paperFigures.push([Number(found[2]), captionText(found[1])]);
        this.figureDialog.querySelector("select").append(new Option(`${captionText(found[1]) || this.text.noCaption || "(no caption)"} (${found[2]})`, found[2]));
        this.figureDialog.querySelector(".ve-pick").hidden = false;
      })
      .catch(() => { errors.textContent = this.text.uploadError || "The image could not be added."; })
      .finally(() => { button.disabled = false; });
  }

  // Esc leaves the text for the next control of the form: the editor never traps focus.
  leave() {
    const focusable = Array.from(this.form.querySelectorAll("input, select, textarea, button, a[href]"))
      .filter((element) => !element.hidden && !element.disabled && element.type !== "hidden"
        && !this.root.contains(element) && element !== this.textarea
        && (this.root.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_FOLLOWING));
    if (focusable.length) { focusable[0].focus(); } else { this.editor.view.dom.blur(); }
  }

  // What the editor writes for the loaded document: computed once, after the editor is
  // shown (idle time), or on the first change, whichever comes first.
  get originalMarkdown() {
    if (this.originalMarkdownCache === null) {
      this.originalMarkdownCache = this.md.serialize(this.originalDoc);
    }
    return this.originalMarkdownCache;
  }

  scheduleSync() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.sync(), SYNC_DELAY_MS);
  }

  // The textarea gets the editor's Markdown — or, while the document is still the one
  // that was loaded, the loaded text itself, so a save without a change changes nothing.
  sync() {
    clearTimeout(this.timer);
    const markdown = this.md.serialize(this.editor.getJSON());
    const value = markdown === this.originalMarkdown ? this.original : markdown;
    this.textarea.value = value;
    this.lastWritten = value;
  }

  load(text) {
    this.editor
      .chain()
      .command(({ tr }) => { tr.setMeta(LOADING_NOTES, "load"); return true; })
      .setContent(this.md.parse(text), { emitUpdate: false })
      .run();
    this.lastWritten = text;
    this.textarea.value = text;
  }

  setSource(on) {
    if (on && this.editor && this.source === false) { this.sync(); }
    if (!on && this.source && this.textarea.value !== this.lastWritten) { this.load(this.textarea.value); }
    this.source = on;
    this.textarea.hidden = !on;
    this.surface.hidden = on;
    this.sourceButton.setAttribute("aria-pressed", on ? "true" : "false");
    this.root.classList.toggle("ve-source-mode", on);
    this.refresh();
  }
}

function start() {
  // User Timing marks: bench/bench_editor.py reads them (editor start → ready).
  performance.mark("konzeptwerk-editor-start");
  const text = labels();
  for (const container of document.querySelectorAll("[data-visual-editor]")) {
    if (container.querySelector("textarea")) {
      container.visualEditor = new VisualEditor(container, text);
    }
  }
  performance.mark("konzeptwerk-editor-ready");
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
