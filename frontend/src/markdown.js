// Markdown in and out of the editor. Tiptap's serializer does the work; `canonical` only
// tidies what it leaves uneven (blank-line runs around tables, trailing-space line
// breaks), so the same document always gives the same text.
import { MarkdownManager } from "@tiptap/markdown";

const FENCE = /^(```|~~~)/;
const NOTE = /^\[\^[^\]\s]+\]:/;

/** Tidy serialized Markdown outside fenced code blocks. */
export function canonical(markdown) {
  const out = [];
  let fence = null;
  let blank = 0;
  let note = -1; // where the last footnote definition starts in `out`
  for (const line of markdown.replace(/\r\n?/g, "\n").split("\n")) {
    const marker = line.trimStart().match(FENCE);
    if (fence) {
      out.push(line);
      if (marker && line.trimStart().startsWith(fence)) { fence = null; }
      continue;
    }
    if (marker) { fence = marker[1]; }
    if (line.trim() === "") {
      blank += 1;
      if (blank > 1) { continue; } // one blank line separates blocks
      out.push("");
      continue;
    }
    // Footnote definitions of one paragraph each stand on consecutive lines, as written by
    // hand: "[^1]: …" directly under "[^2]: …".
    if (NOTE.test(line)) {
      if (blank === 1 && note >= 0 && !out.slice(note, -1).includes("")) { out.pop(); }
      note = out.length;
    }
    blank = 0;
    if (line.startsWith("|")) {
      out.push(tableRow(line));
      continue;
    }
    // A hard line break as a backslash, not as two invisible trailing spaces.
    out.push(/\S {2,}$/.test(line) ? `${line.replace(/ +$/, "")}\\` : line.replace(/\s+$/, ""));
  }
  return out.join("\n").replace(/^\n+/, "").replace(/\n+$/, "");
}

// Table rows without padding: `| a | b |` and `|---|---:|`, so that editing one cell
// does not rewrite every line of the table in the version diff.
function tableRow(line) {
  const cells = line.trim().replace(/^\|/, "").replace(/(?<!\\)\|$/, "").split(/(?<!\\)\|/).map((cell) => cell.trim());
  if (cells.every((cell) => /^:?-+:?$/.test(cell))) {
    return `|${cells.map((cell) => `${cell.startsWith(":") ? ":" : ""}---${cell.endsWith(":") ? ":" : ""}`).join("|")}|`;
  }
  return `| ${cells.join(" | ")} |`;
}

/** A parser/serializer pair for the given extensions, usable without a DOM. */
export function markdownManager(extensions) {
  const manager = new MarkdownManager({ extensions, markedOptions: { gfm: true } });
  // Tiptap writes every "&", "<" and ">" of prose as an entity; Markdown needs that only
  // where they could start an entity, HTML or an autolink ("> " at a line start is
  // escaped by the paragraph, extensions.js). "Bund & Länder" and "1 < 2" stay readable.
  manager.encodeTextForMarkdown = function encode(text, node, parent) {
    const inCode = (parent?.type != null && this.codeTypes.has(parent.type))
      || (node.marks || []).some((mark) => this.codeTypes.has(typeof mark === "string" ? mark : mark.type));
    if (inCode) { return text; }
    return this.escapeMarkdownSyntax(text
      .replace(/&(?=#\d+;|#x[0-9a-f]+;|[a-z][a-z0-9]*;)/gi, "&amp;")
      .replace(/<(?=[a-z/!?])/gi, "&lt;"));
  };
  return {
    parse: (markdown) => manager.parse(markdown),
    serialize: (json) => canonical(manager.serialize(json)),
    // Raw HTML and images other than figures (a paragraph of its own holding
    // ![Caption](figure:<id>), notes.js) have no place in the editor's document model: a
    // text holding them opens as Markdown source, so nothing is dropped behind the
    // writer's back. Footnotes are nodes of the model (notes.js).
    lossy: (markdown) => {
      if (!/<|!\[/.test(markdown)) { return false; } // no lexing for the common case
      let found = false;
      manager.instance.walkTokens(manager.instance.lexer(markdown), (token) => {
        if (token.type === "html" || token.type === "image") { found = true; }
      });
      return found;
    },
  };
}
