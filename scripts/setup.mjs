#!/usr/bin/env node
// `npm run setup`: from a machine with only Node.js 20 and npm to a built workspace.
// Idempotent: every step checks before it acts, so running it twice changes nothing.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const pnpmVersion = pkg.packageManager.replace(/^pnpm@/, "");

function step(title) {
  process.stderr.write(`setup: ${title}\n`);
}

function run(cmd, args) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (res.status !== 0) {
    process.stderr.write(`setup: '${cmd} ${args.join(" ")}' failed (exit ${res.status ?? res.signal})\n`);
    process.exit(1);
  }
}

function installedPnpmVersion() {
  try {
    return execFileSync("pnpm", ["--version"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return null;
  }
}

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`setup: Node.js >= 20.19 is required (found ${process.versions.node})\n`);
  process.exit(1);
}

// A pinned pnpm, so every machine resolves the lockfile the same way.
if (installedPnpmVersion() !== pnpmVersion) {
  step(`installing pnpm ${pnpmVersion} (npm install -g)`);
  run("npm", ["install", "-g", "--no-fund", "--no-audit", `pnpm@${pnpmVersion}`]);
} else {
  step(`pnpm ${pnpmVersion} already installed`);
}

step("installing dependencies (pnpm install --frozen-lockfile)");
run("pnpm", ["install", "--frozen-lockfile"]);

step("building services (pnpm build)");
run("pnpm", ["build"]);
step("done: `pnpm start` runs an engine, `pnpm test` runs every test");
