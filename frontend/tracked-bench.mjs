// Suggest mode's cost per update on a 50 KB section: tokens of the document + diff against
// the base (frontend/src/tracked.js), for a few kinds of change; checks that the edit script
// rebuilds the new text. Reads the section's Markdown as a JSON string on stdin:
//   .venv/bin/python -c "import json, random; from bench.common import markdown_section; \
//     print(json.dumps(markdown_section(random.Random(1), 50000)))" | node frontend/tracked-bench.mjs
import { getSchema } from "@tiptap/core";
import { extensions } from "./src/extensions.js";
import { markdownManager } from "./src/markdown.js";
import { tokens, diff } from "./src/tracked.js";
const chunks = [];
for await (const chunk of process.stdin) { chunks.push(chunk); }
const text = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const md = markdownManager(extensions());
const schema = getSchema(extensions());
const base = tokens(schema.nodeFromJSON(md.parse(text)));
const mid = Math.floor(text.length / 2);
const cases = [
  ["one change in the middle", text.slice(0, mid) + " neues Wort " + text.slice(mid + 30)],
  ["first and last word changed", "X" + text.slice(5, -5) + "Y"],
  ["every ' die ' -> ' der '", text.replace(/ die /g, " der ")],
  ["everything rewritten", text.split("").reverse().join("")],
];
for (const [name, changedText] of cases) {
  const doc = schema.nodeFromJSON(md.parse(changedText));
  const times = [];
  let ops;
  for (let i = 0; i < 9; i += 1) {
    const t0 = performance.now();
    ops = diff(base, tokens(doc));
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  // check: applying ops to base gives current
  const cur = tokens(doc);
  const rebuilt = [];
  for (const [op, a0, a1, b0, b1] of ops) { if (op === "=") rebuilt.push(...base.slice(a0, a1).map(t=>t.t)); if (op === "+") rebuilt.push(...cur.slice(b0, b1).map(t=>t.t)); }
  const ok = rebuilt.join("") === cur.map(t=>t.t).join("") && ops.filter(o=>o[0]!=="+").reduce((s,o)=>s+o[2]-o[1],0) === base.length;
  console.log(`${name}: tokens ${base.length}, ops ${ops.length}, p50 ${times[4].toFixed(1)} ms, max ${times[8].toFixed(1)} ms, consistent ${ok}`);
}
