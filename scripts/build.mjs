#!/usr/bin/env node
// Bundles each runnable program into one ESM file under its dist/, so production runs
// `node services/<name>/dist/main.js` with no TypeScript tooling and no pnpm in between.
// Workspace packages (@agg/*) are bundled in; third-party packages stay in node_modules.
import { existsSync } from "node:fs";
import { build } from "esbuild";

const entries = [
  ["services/engine/src/main.ts", "services/engine/dist/main.js"],
  ["services/cli/src/main.ts", "services/cli/dist/main.js"],
  ["services/inspector/src/main.ts", "services/inspector/dist/main.js"],
  ["bench/src/main.ts", "bench/dist/main.js"],
];

/** Keeps bare imports of third-party packages external; bundles our own. */
const externalThirdParty = {
  name: "external-third-party",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@agg/")) return undefined;
      return { path: args.path, external: true };
    });
  },
};

const started = Date.now();
for (const [entry, outfile] of entries) {
  if (!existsSync(entry)) continue;
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    sourcemap: true,
    logLevel: "warning",
    plugins: [externalThirdParty],
  });
  process.stderr.write(`build: ${outfile}\n`);
}
process.stderr.write(`build: done in ${Date.now() - started} ms\n`);
