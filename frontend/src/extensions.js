// The document model of a section body, shared by the browser editor and the Node round
// trip (roundtrip.mjs): what the editor can hold is exactly what it can write as Markdown.
import StarterKit from "@tiptap/starter-kit";
import Heading from "@tiptap/extension-heading";
import Paragraph from "@tiptap/extension-paragraph";
import { ListItem } from "@tiptap/extension-list";
import { TableKit } from "@tiptap/extension-table";
import { Markdown } from "@tiptap/markdown";
import { Figure, FootnoteDefinition, FootnoteReference } from "./notes.js";

// The paper page shows section headings as h2–h4 and body headings as h5/h6
// (drafting/text/markdown.py); the editor shows them the same way so the outline stays valid.
const BodyHeading = Heading.extend({
  renderHTML({ node, HTMLAttributes }) {
    const tag = `h${Math.min(node.attrs.level + 4, 6)}`;
    return [tag, { ...HTMLAttributes, "data-level": node.attrs.level }, 0];
  },
  parseHTML() {
    // Pasted h1–h6 keep their rank among themselves; the shifted h5/h6 the editor itself
    // writes carry data-level and come back as the level they were.
    return [1, 2, 3, 4, 5, 6].map((level) => ({
      tag: `h${level}`,
      getAttrs: (element) => ({ level: Number(element.getAttribute("data-level")) || level }),
    }));
  },
});

// Text that would start a block when it begins a line ("# ", "> ", "- ", "1. ", "---",
// "```") is escaped, so a paragraph stays a paragraph after a round trip.
const LINE_START = [
  [/^(\s{0,3})(#{1,6})(?=\s|$)/, "$1\\$2"],
  [/^(\s{0,3})([>+])/, "$1\\$2"],
  [/^(\s{0,3})-(?=\s|$|-)/, "$1\\-"],
  [/^(\s{0,3})(\d{1,9})([.)])(?=\s|$)/, "$1$2\\$3"],
  [/^(\s{0,3})(=+\s*)$/, "$1\\$2"],
  [/^(\s{0,3})(`{3,}|~{3,})/, "$1\\$2"],
];

export function escapeLineStarts(text) {
  return text
    .split("\n")
    .map((line) => LINE_START.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), line))
    .join("\n");
}

const SafeParagraph = Paragraph.extend({
  renderMarkdown(node, h, ctx) {
    const original = Paragraph.config.renderMarkdown;
    return escapeLineStarts(original.call(this, node, h, ctx));
  },
});

// Nested blocks of a list item are indented by the width of its marker ("- " or "12. "),
// CommonMark's rule, whatever list they sit in.
const MarkdownListItem = ListItem.extend({
  renderMarkdown(node, h, ctx) {
    let prefix = "- ";
    if (ctx.parentType === "orderedList") {
      const start = ctx.meta?.parentAttrs?.start ?? 1;
      prefix = `${start + (ctx.index || 0)}. `;
    }
    const pad = " ".repeat(prefix.length);
    const [first, ...rest] = node.content || [];
    const indent = (text) => text.split("\n").map((line) => (line ? pad + line : line)).join("\n");
    let out = prefix + indent(first ? h.renderChild(first, 0) : "").slice(pad.length);
    rest.forEach((child, index) => {
      const separator = child.type === "paragraph" ? "\n\n" : "\n";
      out += separator + indent(h.renderChild(child, index + 1));
    });
    return out;
  },
});

/** The editor's extensions; `text` holds the labels, `onEditFigure` opens the caption dialog. */
export function extensions({ text = {}, onEditFigure = null } = {}) {
  return [
    StarterKit.configure({
      heading: false,
      paragraph: false,
      listItem: false,
      underline: false, // Markdown has no underline
      link: {
        openOnClick: false,
        autolink: false,
        protocols: ["mailto"],
        HTMLAttributes: { rel: "noopener noreferrer nofollow", target: null },
      },
    }),
    SafeParagraph,
    MarkdownListItem,
    BodyHeading.configure({ levels: [1, 2, 3, 4, 5, 6] }),
    TableKit.configure({ table: { resizable: false } }),
    FootnoteReference.configure({ text }),
    FootnoteDefinition.configure({ text }),
    Figure.configure({ text, onEdit: onEditFigure }),
    Markdown.configure({ markedOptions: { gfm: true } }),
  ];
}
