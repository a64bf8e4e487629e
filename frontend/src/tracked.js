// Suggest mode ("Vorschlagsmodus"): while the suggester types, what differs from the base
// text is shown as tracked changes, as in Word — insertions underlined in <ins>, deletions
// struck through in <del> widgets where the text was — each with screen-reader text
// ("eingefügt:"/"gelöscht:"), so colour is never the only signal. Only decorations: the
// document, and so the stored suggestion (plain Markdown), stays what was typed.
import { Extension } from "@tiptap/core";
import { Plugin, PluginKey } from "@tiptap/pm/state";
import { Decoration, DecorationSet } from "@tiptap/pm/view";

const key = new PluginKey("trackedChanges");
const DELAY_MS = 150;
const WORD = /[\p{L}\p{N}_]+|\s+|[^\p{L}\p{N}_\s]/gu;

/** The words, spaces and signs of a document, each with where it stands (null between blocks). */
export function tokens(doc) {
  const out = [];
  let first = true;
  doc.descendants((node, pos) => {
    if (node.isTextblock || node.type.name === "figure") {
      if (!first) { out.push({ t: "\n", from: null, to: null }); }
      first = false;
    }
    if (node.type.name === "figure") {
      out.push({ t: `\u0001figure:${node.attrs.id}:${node.attrs.caption}`, from: pos, to: pos + node.nodeSize, shown: node.attrs.caption });
      return false;
    }
    if (node.type.name === "footnoteReference") {
      out.push({ t: `\u0001note:${node.attrs.label}`, from: pos, to: pos + 1, shown: `[${node.attrs.label}]` });
      return false;
    }
    if (node.type.name === "hardBreak") { out.push({ t: "\n", from: pos, to: pos + 1 }); return false; }
    if (node.isText) {
      for (const match of node.text.matchAll(WORD)) {
        out.push({ t: match[0], from: pos + match.index, to: pos + match.index + match[0].length });
      }
    }
    return true;
  });
  return out;
}

const MAX_EDITS = 1000; // beyond this many token edits: one deletion + one insertion

/**
 * Myers' O((N+M)·D) shortest edit script between two arrays of numbers: a list of
 * [op, count] with op "=", "-", "+", deletions before insertions where both are possible
 * (as Word shows a replaced word). Null when more than `limit` edits are needed.
 */
function myers(a, b, limit) {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, limit);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d += 1) {
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) { x += 1; y += 1; }
      v[offset + k] = x;
      if (x >= n && y >= m) { found = d; break; }
    }
  }
  if (found < 0) { return null; }
  const steps = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d -= 1) {
    const saved = trace[d]; // v before step d, for k in -d..d
    const at = (k) => saved[k + d];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) { steps.push("="); x -= 1; y -= 1; }
    steps.push(x === prevX ? "+" : "-");
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) { steps.push("="); x -= 1; y -= 1; }
  const runs = [];
  for (let i = steps.length - 1; i >= 0; i -= 1) {
    const last = runs[runs.length - 1];
    if (last && last[0] === steps[i]) { last[1] += 1; } else { runs.push([steps[i], 1]); }
  }
  return runs;
}

/** Edit script between two token lists: [op, aStart, aEnd, bStart, bEnd] with op "=", "-", "+". */
export function diff(a, b) {
  let start = 0;
  while (start < a.length && start < b.length && a[start].t === b[start].t) { start += 1; }
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1].t === b[endB - 1].t) { endA -= 1; endB -= 1; }
  const ops = [];
  if (start > 0) { ops.push(["=", 0, start, 0, start]); }
  const ids = new Map();
  const id = (token) => {
    let found = ids.get(token.t);
    if (found === undefined) { found = ids.size; ids.set(token.t, found); }
    return found;
  };
  const runs = myers(a.slice(start, endA).map(id), b.slice(start, endB).map(id), MAX_EDITS);
  if (runs) {
    let i = start;
    let j = start;
    for (const [op, count] of runs) {
      const di = op === "+" ? 0 : count;
      const dj = op === "-" ? 0 : count;
      ops.push([op, i, i + di, j, j + dj]);
      i += di;
      j += dj;
    }
  } else {
    if (endA > start) { ops.push(["-", start, endA, start, start]); }
    if (endB > start) { ops.push(["+", endA, endA, start, endB]); }
  }
  if (endA < a.length) { ops.push(["=", endA, a.length, endB, b.length]); }
  return ops;
}

function srText(text) {
  const span = document.createElement("span");
  span.className = "ve-sr";
  span.textContent = text;
  return span;
}

/** The decorations that show `current` as changes of `base`. */
export function decorations(doc, base, current, text) {
  const found = [];
  let lastTo = null; // end of the last shown token in the current block
  let pendingDeletion = null;
  const placeDeletion = (at, words) => {
    const shown = words.replace(/^\n+|\n+$/g, "").replace(/\n+/g, " ¶ ");
    if (!shown.trim()) { return; }
    found.push(Decoration.widget(at, () => {
      const del = document.createElement("del");
      del.className = "ve-del";
      del.contentEditable = "false";
      del.append(srText(`${text.deleted || "deleted"}: `), shown, srText(` ${text.deletedEnd || "(end of deletion)"}`));
      return del;
    }, { side: -1, marks: [], ignoreSelection: true, key: `del:${at}:${shown}` }));
  };
  for (const [op, a0, a1, b0, b1] of diff(base, current)) {
    if (op === "-") {
      const words = base.slice(a0, a1).map((token) => token.shown ?? token.t).join("");
      if (lastTo !== null) { placeDeletion(lastTo, words); } else { pendingDeletion = words; }
      continue;
    }
    let runFrom = null;
    let runTo = null;
    const closeRun = () => {
      if (runFrom === null) { return; }
      found.push(Decoration.widget(runFrom, () => srText(`${text.inserted || "inserted"}: `), { side: -1, marks: [], key: `ins:${runFrom}` }));
      found.push(Decoration.inline(runFrom, runTo, { nodeName: "ins", class: "ve-ins" }));
      found.push(Decoration.widget(runTo, () => srText(` ${text.insertedEnd || "(end of insertion)"}`), { side: 1, marks: [], key: `ins-end:${runTo}` }));
      runFrom = null;
    };
    for (let index = b0; index < b1; index += 1) {
      const token = current[index];
      if (token.from === null) { closeRun(); lastTo = null; continue; }
      if (pendingDeletion !== null) { placeDeletion(token.from, pendingDeletion); pendingDeletion = null; }
      if (op === "+") {
        if (runFrom === null) { runFrom = token.from; }
        runTo = token.to;
      }
      lastTo = token.to;
    }
    closeRun();
  }
  if (pendingDeletion !== null) {
    const last = [...current].reverse().find((token) => token.to !== null);
    placeDeletion(last ? last.to : 1, pendingDeletion);
  }
  return DecorationSet.create(doc, found);
}

/** Tracked changes against `baseJson` (the base text's document), labels in `text`. */
export function trackedChanges(baseJson, text) {
  let base = null;
  return Extension.create({
    name: "trackedChanges",
    addProseMirrorPlugins() {
      return [new Plugin({
        key,
        state: {
          init: (_config, state) => {
            base = tokens(state.schema.nodeFromJSON(baseJson));
            return decorations(state.doc, base, tokens(state.doc), text);
          },
          apply(tr, old) {
            const fresh = tr.getMeta(key);
            if (fresh) { return fresh; }
            return tr.docChanged ? old.map(tr.mapping, tr.doc) : old;
          },
        },
        props: { decorations: (state) => key.getState(state) },
        view() {
          let timer = null;
          return {
            update(view, previous) {
              if (view.state.doc.eq(previous.doc)) { return; }
              clearTimeout(timer);
              timer = setTimeout(() => {
                const { doc } = view.state;
                view.dispatch(view.state.tr.setMeta(key, decorations(doc, base, tokens(doc), text)).setMeta("addToHistory", false));
              }, DELAY_MS);
            },
            destroy() { clearTimeout(timer); },
          };
        },
      })];
    },
  });
}
