import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleProgram } from "../../../scripts/bundle-program.mjs";
import { repoRoot } from "./run-agg";

const cliRoot = fileURLToPath(new URL("../", import.meta.url));
const entry = join(cliRoot, "src/main.ts");

/** The packages that hold the database drivers: only commands that use a database may load them. */
const DATABASE_PACKAGES = ["kysely", "pg", "@electric-sql/pglite"];

/**
 * The built CLI (`pnpm build` bundles it with code splitting) loads the store and
 * its drivers only for the commands that need a database, so `--help` and the
 * NATS-only commands start in about half the time.
 */
describe("the bundled CLI loads the database drivers only when a command needs them", () => {
  let dir: string;
  let main: string;
  let hooks: string;

  beforeAll(async () => {
    // Inside the CLI's package, so the bundle resolves its dependencies as dist/ does.
    dir = mkdtempSync(join(cliRoot, ".bundle-test-"));
    main = join(dir, "dist", "main.js");
    expect(await bundleProgram(entry, main, { split: true })).toEqual([]);
    // An ESM resolve hook that appends every resolved URL to a file, synchronously,
    // so the list is complete when the process ends.
    const hook = join(dir, "log-resolved.mjs");
    writeFileSync(
      hook,
      [
        'import { appendFileSync } from "node:fs";',
        "let log;",
        "export function initialize(data) { log = data.log; }",
        "export async function resolve(specifier, context, next) {",
        "  const resolved = await next(specifier, context);",
        '  appendFileSync(log, resolved.url + "\\n");',
        "  return resolved;",
        "}",
      ].join("\n"),
    );
    hooks = join(dir, "register.mjs");
    writeFileSync(
      hooks,
      [
        'import { register } from "node:module";',
        `register(${JSON.stringify(pathToFileURL(hook).href)}, { data: { log: process.env.RESOLVED_LOG } });`,
      ].join("\n"),
    );
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the bundle; returns its exit code and the packages it loaded. */
  async function run(args: string[], env: Record<string, string> = {}) {
    const log = join(dir, `resolved-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(log, "");
    const childEnv: Record<string, string | undefined> = { ...process.env, ...env, RESOLVED_LOG: log };
    if (!env.DATABASE_URL) delete childEnv.DATABASE_URL;
    const child = spawn(process.execPath, ["--import", pathToFileURL(hooks).href, main, ...args], {
      cwd: repoRoot,
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", resolve);
    });
    const urls = readFileSync(log, "utf8").split("\n").filter(Boolean);
    const loaded = DATABASE_PACKAGES.filter((name) =>
      urls.some((url) => url.includes(`/node_modules/${name}/`)),
    );
    return { code, stderr, loaded };
  }

  it("--help loads none of them", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.loaded).toEqual([]);
  });

  it("status (NATS only) loads none of them", async () => {
    // No engine answers on this prefix: exit 3, but the command ran its whole course.
    const status = await run(["status", "b1"], { AGG_PREFIX: `nobody${process.pid}` });
    expect(status.stderr).toMatch(/agg status: /);
    expect(status.loaded).toEqual([]);
  });

  it("migrate loads the drivers it needs", async () => {
    // Port 1 refuses at once: the command gets as far as connecting, then exits 3.
    const migrate = await run(["migrate"], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" });
    expect(migrate.code).toBe(3);
    expect(migrate.loaded).toEqual(expect.arrayContaining(["kysely", "pg"]));
  });
});
