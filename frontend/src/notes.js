// Footnotes and figures in the editor's document model, with their exact Markdown:
//
// * `[^label]` is a footnoteReference (an inline atom showing the note's number), and
//   `[^label]: text` a footnoteDefinition block holding the note's text, edited in place —
//   the notes stand where the Markdown has them, normally at the end of the section, as the
//   notes under a page in Word. Numbers count the references in order, as the paper page
//   (markdown-it's footnote plugin) does.
// * A paragraph holding nothing but `![Caption](figure:<id>)` is a figure block: the image
//   from the paper's authorised route /figures/<id>, the caption kept as written (escapes
//   included), so a round trip gives the same bytes. Any other image stays "lossy" (the
//   editor opens such a text as Markdown source, markdown.js).
import { Node, mergeAttributes } from "@tiptap/core";
import { Plugin, PluginKey } from "@tiptap/pm/state";
import { Decoration, DecorationSet } from "@tiptap/pm/view";

const LABEL = "[^\\]\\s]+";
const REFERENCE = new RegExp(`^\\[\\^(${LABEL})\\](?!:)`);
const DEFINITION = new RegExp(`^\\[\\^(${LABEL})\\]:[ \\t]*`);
// A figure is a paragraph of its own: followed by a blank line or the end of the text.
const FIGURE = /^!\[((?:[^\]\\\n]|\\.)*)\]\(figure:(\d+)\)[ \t]*(?:\n(?=[ \t]*(?:\n|$))|\n*$)/;

/** The caption as shown: Markdown escapes removed. */
export function captionText(source) {
  return (source || "").replace(/\\(.)/g, "$1");
}

/** The caption as written in Markdown (workflows/figures.py, figure_markdown). */
export function captionSource(text) {
  return (text || "").split(/\s+/).filter(Boolean).join(" ").replace(/([\\[\]])/g, "\\$1");
}

/** Footnote numbers by order of first reference: label → number. */
export function footnoteNumbers(doc) {
  const numbers = new Map();
  doc.descendants((node) => {
    if (node.type.name === "footnoteReference" && !numbers.has(node.attrs.label)) {
      numbers.set(node.attrs.label, numbers.size + 1);
    }
  });
  return numbers;
}

/** The next free numeric label ("1", "2", …) for a new footnote. */
export function nextFootnoteLabel(doc) {
  let highest = 0;
  doc.descendants((node) => {
    if (node.type.name.startsWith("footnote") && /^\d+$/.test(node.attrs.label)) {
      highest = Math.max(highest, Number(node.attrs.label));
    }
  });
  return String(highest + 1);
}

const numbering = new PluginKey("footnoteNumbering");

// Node decorations carry each note's number to the views: a change anywhere (a reference
// inserted before another) renumbers them all without touching the document.
function numberingPlugin(text) {
  const build = (doc) => {
    const numbers = footnoteNumbers(doc);
    const decorations = [];
    doc.descendants((node, pos) => {
      if (!node.type.name.startsWith("footnote")) { return true; }
      const number = numbers.get(node.attrs.label);
      const shown = number ? String(number) : node.attrs.label;
      if (node.type.name === "footnoteDefinition") {
        const caption = `${text.footnoteWord || "Footnote"} ${shown}:`;
        decorations.push(Decoration.node(pos, pos + node.nodeSize, { "data-caption": caption }, { number: shown }));
      } else {
        decorations.push(Decoration.node(pos, pos + node.nodeSize, {}, { number: shown }));
      }
      return false;
    });
    return DecorationSet.create(doc, decorations);
  };
  return new Plugin({
    key: numbering,
    state: {
      init: (_config, state) => build(state.doc),
      apply: (tr, old) => (tr.docChanged ? build(tr.doc) : old),
    },
    props: { decorations: (state) => numbering.getState(state) },
  });
}

/**
 * Where a new note goes: after the last note of the section, or else at its end (before
 * the empty paragraph the editor keeps last), as in the Markdown "[^1]: …" under the text.
 */
export function notesEnd(doc) {
  let end = null;
  doc.forEach((node, offset) => {
    if (node.type.name === "footnoteDefinition") { end = offset + node.nodeSize; }
  });
  if (end !== null) { return end; }
  const last = doc.lastChild;
  const trailing = last && last.type.name === "paragraph" && last.content.size === 0 && doc.childCount > 1;
  return trailing ? doc.content.size - last.nodeSize : doc.content.size;
}

const notes = new PluginKey("footnoteNotes");
/** The meta that marks a transaction as loading a text: its notes are left as they are. */
export const LOADING_NOTES = notes;

function referencedLabels(doc) {
  const labels = new Set();
  doc.descendants((node) => {
    if (node.type.name === "footnoteReference") { labels.add(node.attrs.label); }
    return true;
  });
  return labels;
}

// As in Word, a note goes with its number: when an edit removes the last reference to a
// note, the note goes too (undo brings both back, in one step). The note is kept aside while
// the page is open, and comes back at the end of the section when its number does — cut
// and pasted elsewhere, say. Notes without a number in the loaded text are left alone.
function notesPlugin() {
  return new Plugin({
    key: notes,
    state: {
      init: () => new Map(),
      apply: (tr, kept) => {
        const next = tr.getMeta(notes);
        return next instanceof Map ? next : kept;
      },
    },
    appendTransaction(transactions, oldState, newState) {
      if (!transactions.some((tr) => tr.docChanged) || transactions.some((tr) => tr.getMeta(notes))) {
        return null;
      }
      const before = referencedLabels(oldState.doc);
      const after = referencedLabels(newState.doc);
      const gone = [];
      const present = new Set();
      newState.doc.descendants((node, pos) => {
        if (node.type.name !== "footnoteDefinition") { return true; }
        present.add(node.attrs.label);
        if (before.has(node.attrs.label) && !after.has(node.attrs.label)) { gone.push({ node, pos }); }
        return false;
      });
      const back = [...after].filter((label) => !before.has(label) && !present.has(label));
      const kept = new Map(notes.getState(newState));
      if (!gone.length && !back.some((label) => kept.has(label))) { return null; }
      const { tr, schema } = newState;
      for (const { node, pos } of gone.reverse()) { // from the end: earlier positions hold
        kept.set(node.attrs.label, node);
        if (tr.doc.childCount === 1) {
          tr.replaceWith(pos, pos + node.nodeSize, schema.nodes.paragraph.create());
        } else {
          tr.delete(pos, pos + node.nodeSize);
        }
      }
      for (const label of back) {
        if (kept.has(label)) {
          tr.insert(notesEnd(tr.doc), kept.get(label));
          kept.delete(label);
        }
      }
      return tr.setMeta(notes, kept);
    },
  });
}

export const FootnoteReference = Node.create({
  name: "footnoteReference",
  group: "inline",
  inline: true,
  atom: true,
  selectable: true,
  addOptions() { return { text: {} }; },
  addAttributes() {
    return { label: { default: "1", parseHTML: (element) => element.getAttribute("data-label") || "1" } };
  },
  parseHTML() { return [{ tag: "sup[data-footnote]" }]; },
  renderHTML({ node, HTMLAttributes }) {
    return ["sup", mergeAttributes(HTMLAttributes, { "data-footnote": "", "data-label": node.attrs.label, class: "ve-fnref" }), node.attrs.label];
  },
  addNodeView() {
    const text = this.options.text;
    return ({ node, decorations }) => {
      const dom = document.createElement("sup");
      dom.className = "ve-fnref";
      dom.dataset.footnote = "";
      const hidden = document.createElement("span");
      hidden.className = "ve-sr";
      hidden.textContent = `${text.footnoteWord || "Footnote"} `;
      const number = document.createElement("span");
      dom.append(hidden, number);
      const show = (current, decos) => {
        dom.dataset.label = current.attrs.label;
        const found = (decos || []).find((d) => d.spec && d.spec.number);
        number.textContent = found ? found.spec.number : current.attrs.label;
      };
      show(node, decorations);
      return {
        dom,
        update(updated, decos) {
          if (updated.type.name !== "footnoteReference") { return false; }
          show(updated, decos);
          return true;
        },
        ignoreMutation: () => true,
      };
    };
  },
  markdownTokenName: "footnoteReference",
  markdownTokenizer: {
    name: "footnoteReference",
    level: "inline",
    start: (src) => src.indexOf("[^"),
    tokenize(src) {
      const match = src.match(REFERENCE);
      if (!match) { return undefined; }
      return { type: "footnoteReference", raw: match[0], label: match[1] };
    },
  },
  parseMarkdown(token) {
    return { type: "footnoteReference", attrs: { label: token.label } };
  },
  renderMarkdown(node) {
    return `[^${node.attrs.label}]`;
  },
});

export const FootnoteDefinition = Node.create({
  name: "footnoteDefinition",
  group: "block",
  content: "block+",
  defining: true,
  isolating: true,
  addOptions() { return { text: {} }; },
  addAttributes() {
    return { label: { default: "1", parseHTML: (element) => element.getAttribute("data-label") || "1" } };
  },
  parseHTML() { return [{ tag: "div[data-footnote-definition]" }]; },
  renderHTML({ node, HTMLAttributes }) {
    return ["div", mergeAttributes(HTMLAttributes, { "data-footnote-definition": "", "data-label": node.attrs.label, class: "ve-fndef" }), 0];
  },
  addProseMirrorPlugins() { return [numberingPlugin(this.options.text), notesPlugin()]; },
  markdownTokenName: "footnoteDefinition",
  markdownTokenizer: {
    name: "footnoteDefinition",
    level: "block",
    start: (src) => {
      const match = src.match(/(^|\n)\[\^[^\]\s]+\]:/);
      return match ? match.index + match[1].length : -1;
    },
    tokenize(src, _tokens, lexer) {
      const match = src.match(DEFINITION);
      if (!match) { return undefined; }
      // The note: its first line, lines that continue that paragraph, and after blank
      // lines the blocks indented by four spaces (markdown-it's rule).
      const lines = src.slice(match[0].length).split("\n");
      const body = [lines[0]];
      let used = 1;
      let blanks = 0;
      for (let i = 1; i < lines.length; i += 1) {
        const line = lines[i];
        if (line.trim() === "") { blanks += 1; continue; }
        if (blanks === 0 && !DEFINITION.test(line)) {
          body.push(line.replace(/^ {1,4}/, "")); // the indent the serializer gives them
          used = i + 1;
          continue;
        }
        if (blanks > 0 && /^( {4}|\t)/.test(line)) {
          for (let b = 0; b < blanks; b += 1) { body.push(""); }
          body.push(line.replace(/^( {4}|\t)/, ""));
          blanks = 0;
          used = i + 1;
          continue;
        }
        break;
      }
      const raw = match[0] + lines.slice(0, used).join("\n") + (used < lines.length ? "\n" : "");
      const content = body.join("\n");
      return { type: "footnoteDefinition", raw, label: match[1], tokens: lexer.blockTokens(content) };
    },
  },
  parseMarkdown(token, helpers) {
    const content = helpers.parseChildren(token.tokens || []);
    return {
      type: "footnoteDefinition",
      attrs: { label: token.label },
      content: content.length ? content : [{ type: "paragraph" }],
    };
  },
  renderMarkdown(node, h) {
    const parts = (node.content || []).map((child, index) => h.renderChild(child, index));
    const text = parts.join("\n\n");
    const [first, ...rest] = text.split("\n");
    const indented = rest.map((line) => (line ? `    ${line}` : line));
    return [`[^${node.attrs.label}]: ${first}`, ...indented].join("\n");
  },
});

export const Figure = Node.create({
  name: "figure",
  group: "block",
  atom: true,
  selectable: true,
  draggable: true,
  addOptions() { return { text: {}, onEdit: null }; },
  addAttributes() {
    return {
      id: { default: "" },
      caption: { default: "" }, // as written in Markdown, escapes included
    };
  },
  parseHTML() {
    return [{
      tag: "figure[data-figure]",
      getAttrs: (element) => ({ id: element.getAttribute("data-figure"), caption: element.getAttribute("data-caption") || "" }),
    }];
  },
  renderHTML({ node }) {
    return ["figure", { "data-figure": node.attrs.id, "data-caption": node.attrs.caption, class: "ve-figure" },
      ["img", { src: `/figures/${node.attrs.id}`, alt: captionText(node.attrs.caption) }],
      ["figcaption", {}, captionText(node.attrs.caption)]];
  },
  addNodeView() {
    const options = this.options;
    return ({ node, getPos, editor }) => {
      const dom = document.createElement("figure");
      dom.className = "ve-figure";
      dom.contentEditable = "false";
      const image = document.createElement("img");
      image.loading = "lazy";
      const caption = document.createElement("figcaption");
      const words = document.createElement("span");
      const edit = document.createElement("button");
      edit.type = "button";
      edit.className = "ve-caption-edit";
      edit.textContent = options.text.editCaption || "Edit caption";
      caption.append(words, " ", edit);
      dom.append(image, caption);
      let current = node;
      const show = () => {
        dom.dataset.figure = current.attrs.id;
        image.src = `/figures/${encodeURIComponent(current.attrs.id)}`;
        const text = captionText(current.attrs.caption);
        image.alt = text;
        words.textContent = text || (options.text.noCaption || "(no caption)");
        edit.setAttribute("aria-label", `${options.text.editCaption || "Edit caption"}: ${text}`);
      };
      show();
      edit.addEventListener("mousedown", (event) => event.stopPropagation());
      edit.addEventListener("click", (event) => {
        event.preventDefault();
        if (options.onEdit && typeof getPos === "function") { options.onEdit(editor, getPos(), current); }
      });
      return {
        dom,
        update(updated) {
          if (updated.type.name !== "figure") { return false; }
          current = updated;
          show();
          return true;
        },
        stopEvent: (event) => event.target === edit,
        ignoreMutation: () => true,
      };
    };
  },
  markdownTokenName: "figure",
  markdownTokenizer: {
    name: "figure",
    level: "block",
    start: (src) => {
      // Only after a blank line: a figure line right under text belongs to that paragraph
      // (an inline image, which the renderer shows as its alt text).
      const match = src.match(/(^|\n[ \t]*\n)!\[/);
      return match ? match.index + match[1].length : -1;
    },
    tokenize(src) {
      const match = src.match(FIGURE);
      if (!match) { return undefined; }
      return { type: "figure", raw: match[0], caption: match[1], id: match[2] };
    },
  },
  parseMarkdown(token) {
    return { type: "figure", attrs: { id: token.id, caption: token.caption } };
  },
  renderMarkdown(node) {
    return `![${node.attrs.caption}](figure:${node.attrs.id})`;
  },
});
