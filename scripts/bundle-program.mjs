// One runnable program bundled into ESM (see build.mjs): workspace packages (@agg/*)
// are bundled in, third-party packages stay in node_modules.
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { build } from "esbuild";

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

/**
 * Bundles `entry` into `outfile`. With `split`, the program's dynamic imports
 * become chunks of their own under `chunks/` beside it, loaded only when
 * reached. Returns the third-party packages the bundle imports that cannot be
 * resolved from its folder (each would fail `node <outfile>` at start).
 */
export async function bundleProgram(entry, outfile, { split = false } = {}) {
  // Chunks are named by content hash: drop the previous build's, or they pile up.
  if (split) rmSync(resolve(dirname(outfile), "chunks"), { recursive: true, force: true });
  const result = await build({
    metafile: true,
    entryPoints: [entry],
    ...(split
      ? {
          splitting: true,
          outdir: dirname(outfile),
          entryNames: "[name]",
          chunkNames: "chunks/[name]-[hash]",
        }
      : { outfile }),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    sourcemap: true,
    logLevel: "warning",
    plugins: [externalThirdParty],
  });
  // Node resolves the bundle's external imports from its own folder.
  const require = createRequire(resolve(dirname(outfile), "..", "package.json"));
  const externals = new Set();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imp of output.imports) {
      if (imp.external && !imp.path.startsWith("node:")) externals.add(packageName(imp.path));
    }
  }
  const unresolvable = [];
  for (const name of externals) {
    try {
      require.resolve(`${name}/package.json`);
    } catch {
      try {
        require.resolve(name);
      } catch {
        unresolvable.push(name);
      }
    }
  }
  return unresolvable;
}
