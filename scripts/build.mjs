#!/usr/bin/env node
// Bundles each runnable program into one ESM file under its dist/, so production runs
// `node services/<name>/dist/main.js` with no TypeScript tooling and no pnpm in between.
// Workspace packages (@agg/*) are bundled in; third-party packages stay in node_modules.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
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

/** The package name of a bare import (`@scope/name/sub` -> `@scope/name`). */
function packageName(spec) {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

const started = Date.now();
const missing = [];
for (const [entry, outfile] of entries) {
  if (!existsSync(entry)) continue;
  const result = await build({
    metafile: true,
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
  // Node resolves the bundle's external imports from its own folder: every one must
  // be a dependency of the program's package, or `node dist/main.js` fails at start.
  const require = createRequire(resolve(dirname(outfile), "..", "package.json"));
  const externals = new Set();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imp of output.imports) {
      if (imp.external && !imp.path.startsWith("node:")) externals.add(packageName(imp.path));
    }
  }
  for (const name of externals) {
    try {
      require.resolve(`${name}/package.json`);
    } catch {
      try {
        require.resolve(name);
      } catch {
        missing.push(
          `${outfile}: '${name}' is not a dependency of ${dirname(dirname(outfile))}/package.json`,
        );
      }
    }
  }
  process.stderr.write(`build: ${outfile}\n`);
}
if (missing.length > 0) {
  process.stderr.write(`build: unresolvable imports:\n  ${missing.join("\n  ")}\n`);
  process.exit(1);
}
process.stderr.write(`build: done in ${Date.now() - started} ms\n`);
