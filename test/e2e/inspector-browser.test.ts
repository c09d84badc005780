/**
 * The state inspector in a real browser (issue 5): Debian's chromium, driven
 * by playwright-core, opens `pnpm inspector`'s page before any engine runs
 * ("no instances"), then watches two engine instances work through a batch at
 * one user at a time, and sees actors of both instances change state, live.
 * Screenshots go to test-artifacts/ (gitignored).
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  ContractClient,
  createTestDatabase,
  type EngineProcess,
  generateDataset,
  insertDataset,
  repoRoot,
  startEngine,
  TEST_NATS_URL,
  type TestDatabase,
  uniquePrefix,
} from "@agg/test-support";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";

const prefix = uniquePrefix("browser");
// Big enough that a batch runs several seconds at AGG_CONCURRENCY=1 on two instances.
const data = generateDataset({ users: 60, days: 30, seed: 23, perDay: 100 });
const artifacts = join(repoRoot, "test-artifacts");
let testDb: TestDatabase;
const engines: EngineProcess[] = [];
let inspector: ChildProcess | undefined;
let inspectorUrl: string;
let browser: Browser | undefined;
let client: ContractClient;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  testDb = await createTestDatabase();
  [inspector, inspectorUrl] = await startInspectorProcess();
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
  });
  client = await ContractClient.connect(prefix);
});

afterAll(async () => {
  await browser?.close();
  await client?.close();
  if (inspector && inspector.exitCode === null) {
    inspector.kill("SIGTERM");
    await new Promise((r) => inspector!.once("exit", r));
  }
  for (const e of engines) await e.stop(5_000);
  await testDb?.drop();
});

/** `pnpm inspector` from source on a free port; resolves with the URL it logs. */
async function startInspectorProcess(): Promise<[ChildProcess, string]> {
  const child = spawn(process.execPath, ["--import", "tsx", "services/inspector/src/main.ts"], {
    cwd: repoRoot,
    env: { ...process.env, NATS_URL: TEST_NATS_URL, AGG_PREFIX: prefix, INSPECTOR_PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`inspector did not start; stderr:\n${stderr}`)), 20_000);
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      for (const line of out.split("\n")) {
        try {
          const parsed = JSON.parse(line) as { msg?: string; url?: string };
          if (parsed.msg === "inspector listening" && parsed.url) {
            clearTimeout(timer);
            resolve(parsed.url);
          }
        } catch {
          // partial line
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`inspector exited (${code}); stderr:\n${stderr}`)));
  });
  return [child, url];
}

/** The little of the DOM the page functions below use (they run in the browser; this project has no DOM types). */
interface DomElement {
  readonly dataset: Record<string, string | undefined>;
  readonly classList: { contains(name: string): boolean };
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<DomElement> };

interface SeenActor {
  readonly instance: string;
  readonly machine: string;
  readonly states: Set<string>;
}

/** What the page shows now: every actor tile and card, with its instance column and state. */
function readPage(page: Page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll(".instance")).map((column) => ({
      instance: column.dataset.instance ?? "",
      silent: column.classList.contains("silent"),
      actors: Array.from(column.querySelectorAll("[data-key]")).map((el) => ({
        key: el.dataset.key ?? "",
        state: el.dataset.state ?? "",
        machine: el.classList.contains("card") ? "batchCoordinator" : "userAggregator",
      })),
    })),
  );
}

it("shows no instances, then both instances' actors changing state during a batch", {
  timeout: 60_000,
}, async () => {
  const page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
  page.on("pageerror", (err) => pageErrors.push(err.message));
  await page.goto(inspectorUrl);

  // No engine yet: the page says so instead of failing.
  await page.getByRole("heading", { name: "no instances" }).waitFor({ timeout: 10_000 });

  const env = {
    DATABASE_URL: testDb.url,
    NATS_URL: TEST_NATS_URL,
    AGG_PREFIX: prefix,
    AGG_CONCURRENCY: "1",
    // Finished user actors stay (idle) long enough to be clicked below, even when
    // the batch is over by then: a passivated actor has no statechart to show.
    AGG_PASSIVATE_AFTER_MS: "30000",
  };
  engines.push(await startEngine("engine-a", env));
  await insertDataset(testDb.url, data);
  engines.push(await startEngine("engine-b", env));

  // Both instances appear without a reload.
  await page.waitForFunction(() => document.querySelectorAll(".instance").length === 2, undefined, {
    timeout: 10_000,
  });

  const accepted = await client.call("request", { mode: "regenerate" });
  expect(accepted.users).toBe(data.users.length);

  // Watch the page while the batch runs: which states each actor was seen in.
  const seen = new Map<string, SeenActor>();
  let shotTaken = false;
  const deadline = Date.now() + 35_000;
  const changedPerInstance = () => {
    const changed = new Set<string>();
    for (const a of seen.values())
      if (a.machine === "userAggregator" && a.states.size >= 2) changed.add(a.instance);
    return changed;
  };
  while (Date.now() < deadline) {
    for (const column of await readPage(page)) {
      for (const a of column.actors) {
        const entry = seen.get(a.key) ?? {
          instance: column.instance,
          machine: a.machine,
          states: new Set<string>(),
        };
        entry.states.add(a.state);
        seen.set(a.key, entry);
      }
    }
    if (!shotTaken) {
      // Mid-batch (some progress, both instances busy): the view an operator gets.
      const busy = await page.locator(".tile:not(.resting)").count();
      const [pctText = ""] = await page.locator("#batches .batch-pct").allTextContents();
      const pct = Number.parseInt(pctText, 10);
      if (busy >= 2 && pct >= 15 && pct <= 85) {
        await page.screenshot({ path: join(artifacts, "inspector.png") });
        shotTaken = true;
      }
    }
    if (changedPerInstance().size === 2 && shotTaken) break;
    await page.waitForTimeout(150);
  }

  expect([...changedPerInstance()].sort()).toEqual(["engine-a", "engine-b"]);
  const machines = new Set([...seen.values()].map((a) => a.machine));
  expect([...machines].sort()).toEqual(["batchCoordinator", "userAggregator"]);
  const states = new Set([...seen.values()].flatMap((a) => [...a.states]));
  expect(states.size).toBeGreaterThanOrEqual(3);
  expect(shotTaken).toBe(true);

  // Click a working actor: its statechart with the current state highlighted, and its timeline.
  const working = page.locator(".tile:not(.resting)").first();
  if ((await working.count()) > 0) await working.click();
  else await page.locator(".tile").first().click();
  await page.locator("#drawer svg rect.active").first().waitFor({ timeout: 5_000 });
  await page.locator("#timeline li").first().waitFor({ timeout: 5_000 });
  expect(await page.locator("#drawer svg rect").count()).toBeGreaterThanOrEqual(5);
  await page.screenshot({ path: join(artifacts, "inspector-actor.png") });

  expect(await page.locator("#malformed").getAttribute("data-count")).toBe("0");
  expect(pageErrors).toEqual([]);
  await page.close();
});
