// Round trip for the tests: reads a JSON list of Markdown texts on stdin and writes the
// JSON list of what the editor makes of each (parse, then serialize), with the editor's
// own extensions. Needs no DOM and no network.
import { extensions } from "./src/extensions.js";
import { markdownManager } from "./src/markdown.js";

const chunks = [];
for await (const chunk of process.stdin) { chunks.push(chunk); }
const texts = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const md = markdownManager(extensions());
process.stdout.write(JSON.stringify(texts.map((text) => md.serialize(md.parse(text)))));
