#!/usr/bin/env node
// Bundles each runnable program into one ESM file under its dist/, so production runs
// `node services/<name>/dist/main.js` with no TypeScript tooling and no pnpm in between.
// Workspace packages (@agg/*) are bundled in; third-party packages stay in node_modules.
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { bundleProgram } from "./bundle-program.mjs";

// `split`: the program's dynamic imports become chunks of their own, loaded when
// reached (the CLI loads the database drivers only for the commands that use them).
const entries = [
  ["services/engine/src/main.ts", "services/engine/dist/main.js"],
  ["services/cli/src/main.ts", "services/cli/dist/main.js", { split: true }],
  ["services/inspector/src/main.ts", "services/inspector/dist/main.js"],
  ["bench/src/main.ts", "bench/dist/main.js"],
];

const started = Date.now();
const missing = [];
for (const [entry, outfile, options] of entries) {
  if (!existsSync(entry)) continue;
  // Every external import must be a dependency of the program's package.
  for (const name of await bundleProgram(entry, outfile, options)) {
    missing.push(`${outfile}: '${name}' is not a dependency of ${dirname(dirname(outfile))}/package.json`);
  }
  process.stderr.write(`build: ${outfile}\n`);
}
if (missing.length > 0) {
  process.stderr.write(`build: unresolvable imports:\n  ${missing.join("\n  ")}\n`);
  process.exit(1);
}
process.stderr.write(`build: done in ${Date.now() - started} ms\n`);
