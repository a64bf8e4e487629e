// Build the editor bundle into drafting/static/ — deterministic: pinned versions (the lock
// file), no timestamps, no source maps, no absolute paths in the output.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
// `node build.mjs --outdir DIR` builds elsewhere (make assets-check compares the two).
const flag = process.argv.indexOf("--outdir");
const out = flag > 0 ? path.resolve(process.argv[flag + 1]) : path.join(here, "..", "drafting", "static");

await build({
  absWorkingDir: here,
  entryPoints: { "editor.bundle": "src/editor.js" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "external",
  charset: "utf8",
  sourcemap: false,
  outdir: out,
  logLevel: "warning",
});
await build({
  absWorkingDir: here,
  entryPoints: { "editor.bundle": "src/editor.css" },
  bundle: true,
  minify: true,
  outdir: out,
  logLevel: "warning",
});
