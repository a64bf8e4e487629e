// Clipboard HTML from Word, LibreOffice and web pages, reduced to what the document model
// holds. The editor's schema already ignores spans, fonts and styles; this adds what the
// schema cannot see: Word writes list items as paragraphs with `mso-list` styles and a
// typed bullet, which become real <ul>/<ol> here, and office comments/markup go.

const WORD_LIST = /mso-list:\s*l(\d+)\s+level(\d+)/i;
const ORDERED_MARKER = /^\s*(\d+|[a-zA-Z]|[ivxlcdmIVXLCDM]+)[.)]\s*$/;

function wordListInfo(paragraph) {
  const style = paragraph.getAttribute("style") || "";
  const match = style.match(WORD_LIST);
  const isListClass = /MsoListParagraph/i.test(paragraph.className || "");
  if (!match && !isListClass) { return null; }
  // The typed marker sits in a span styled `mso-list:Ignore` (after the IE conditional
  // comment `<!--[if !supportLists]-->`).
  let markerText = "";
  const ignored = Array.from(paragraph.querySelectorAll("span")).find((span) => /mso-list:\s*ignore/i.test(span.getAttribute("style") || ""));
  if (ignored) {
    markerText = ignored.textContent.replace(/\u00a0/g, " ").trim();
    ignored.remove();
  }
  return {
    list: match ? match[1] : "0",
    level: match ? Number(match[2]) : 1,
    ordered: ORDERED_MARKER.test(markerText),
    start: Number.parseInt(markerText, 10),
  };
}

function convertWordLists(body) {
  const paragraphs = Array.from(body.querySelectorAll("p"));
  let stack = []; // [{ element, level }]
  let previous = null;
  for (const paragraph of paragraphs) {
    const info = wordListInfo(paragraph);
    if (!info) { stack = []; previous = null; continue; }
    const contiguous = previous && previous.nextElementSibling === paragraph;
    if (!contiguous) { stack = []; }
    while (stack.length && stack[stack.length - 1].level > info.level) { stack.pop(); }
    let top = stack[stack.length - 1];
    if (!top || top.level < info.level) {
      const list = paragraph.ownerDocument.createElement(info.ordered ? "ol" : "ul");
      if (info.ordered && info.start > 1) { list.setAttribute("start", String(info.start)); }
      if (top) {
        const lastItem = top.element.lastElementChild;
        (lastItem || top.element).append(list);
      } else {
        paragraph.before(list);
      }
      top = { element: list, level: info.level };
      stack.push(top);
    }
    const item = paragraph.ownerDocument.createElement("li");
    item.append(...paragraph.childNodes);
    top.element.append(item);
    previous = paragraph;
    // Keep the paragraph as a position marker until the next one is looked at.
    paragraph.replaceChildren();
    paragraph.dataset.wordListDone = "true";
  }
  for (const done of body.querySelectorAll("p[data-word-list-done]")) {
    // The next paragraph in the same run must still see its predecessor as a sibling; all
    // are removed at the end.
    done.remove();
  }
}

function removeComments(node) {
  const walker = node.ownerDocument.createTreeWalker(node, NodeFilter.SHOW_COMMENT);
  const comments = [];
  while (walker.nextNode()) { comments.push(walker.currentNode); }
  comments.forEach((comment) => comment.remove());
}

/** Return the pasted HTML reduced to headings, lists, tables, emphasis and links. */
export function cleanPastedHtml(html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  const body = doc.body;
  removeComments(doc.documentElement);
  body.querySelectorAll("style, script, meta, link, title, xml, o\\:p, img, svg").forEach((el) => el.remove());
  convertWordLists(body);
  // Word marks no header row; a Markdown table has one, so its first row becomes it.
  for (const table of body.querySelectorAll("table")) {
    const first = table.querySelector("tr");
    if (first && !table.querySelector("th")) {
      for (const cell of Array.from(first.children)) {
        const header = doc.createElement("th");
        for (const attribute of Array.from(cell.attributes)) { header.setAttribute(attribute.name, attribute.value); }
        header.append(...cell.childNodes);
        cell.replaceWith(header);
      }
    }
  }
  // Attributes carry fonts, colours, classes and office metadata: none of it is kept,
  // except what the model reads (link targets, list starts, heading ranks, alignment).
  const unwrap = [];
  // Footnotes and figures copied inside the editor keep what their nodes read (notes.js).
  const keep = {
    a: ["href", "title"], ol: ["start"], td: ["align"], th: ["align"],
    sup: ["data-footnote", "data-label"], div: ["data-footnote-definition", "data-label"],
    figure: ["data-figure", "data-caption"],
  };
  for (const element of body.querySelectorAll("*")) {
    const tag = element.tagName.toLowerCase();
    const allowed = keep[tag] || [];
    const style = element.getAttribute("style") || "";
    // Word and LibreOffice align the paragraph inside a cell, not the cell.
    const inner = (tag === "td" || tag === "th") && element.querySelector("p[align], p[style*='text-align']");
    const innerAlign = inner && ((inner.getAttribute("align") || "") + ";" + (inner.getAttribute("style") || ""));
    const align = (tag === "td" || tag === "th")
      && (`${style};text-align:${element.getAttribute("align") || ""}`.match(/text-align:\s*(left|center|right)/i)
        || (innerAlign || "").match(/(left|center|right)/i));
    // Bold and italic written as styles (Google Docs, LibreOffice spans) stay bold/italic.
    const bold = /font-weight:\s*(bold|[6-9]00)/i.test(style);
    const italic = /font-style:\s*italic/i.test(style);
    // Google Docs wraps a whole paste in <b style="font-weight:normal">.
    if ((tag === "b" || tag === "strong") && /font-weight:\s*(normal|[1-5]00)/i.test(style)) { unwrap.push(element); }
    for (const attribute of Array.from(element.attributes)) {
      if (!allowed.includes(attribute.name)) { element.removeAttribute(attribute.name); }
    }
    if (align) { element.setAttribute("align", align[1].toLowerCase()); }
    if (tag === "span" && (bold || italic)) {
      let inner = element.ownerDocument.createDocumentFragment();
      inner.append(...element.childNodes);
      if (italic) { const em = doc.createElement("em"); em.append(inner); inner = em; }
      if (bold) { const strong = doc.createElement("strong"); strong.append(inner); inner = strong; }
      element.append(inner);
    }
  }
  // Spans and fonts vanish, their text stays.
  for (const wrapper of [...unwrap, ...body.querySelectorAll("span, font")]) {
    wrapper.replaceWith(...wrapper.childNodes);
  }
  return body.innerHTML;
}
