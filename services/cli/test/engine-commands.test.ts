/**
 * `pnpm agg request / status / inspect / summary` against a real engine (a
 * child process) on the real NATS and PostgreSQL, the CLI itself run as a
 * child process: what a user at a terminal gets, exit codes included.
 */

import { dirname } from "node:path";
import { migrateToLatest, openDatabase } from "@agg/store";
import {
  addDaysIso,
  createTestDatabase,
  createTestPgliteDir,
  type EngineProcess,
  generateDataset,
  insertDataset,
  startEngine,
  TEST_NATS_URL,
  type TestDatabase,
  type TestPgliteDir,
  uniquePrefix,
} from "@agg/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/index";
import { repoRoot, runAgg, startAgg } from "./run-agg";

const today = new Date().toISOString().slice(0, 10);

describe("pnpm agg request / status / inspect with an engine running", () => {
  const prefix = uniquePrefix("cli");
  const instance = `cli-${prefix}`;
  const data = generateDataset({ users: 3, days: 3, seed: 31, perDay: 8 });
  const users = data.users.map((u) => u.id);
  const env = { NATS_URL: TEST_NATS_URL, AGG_PREFIX: prefix };
  let testDb: TestDatabase;
  let engine: EngineProcess;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const store = await openDatabase({ url: testDb.url });
    try {
      await migrateToLatest(store.db);
    } finally {
      await store.close();
    }
    await insertDataset(testDb.url, data);
    engine = await startEngine(instance, {
      DATABASE_URL: testDb.url,
      NATS_URL: TEST_NATS_URL,
      AGG_PREFIX: prefix,
      // Small, so the engine's own BAD_REQUEST can be seen through the CLI.
      AGG_MAX_USERS_PER_REQUEST: "20",
      // Idle user actors stay live, so `inspect` has actors to show after a batch.
      AGG_PASSIVATE_AFTER_MS: "120000",
    });
  });
  afterAll(async () => {
    await engine?.stop();
    await testDb?.drop();
  });

  it("request --wait: progress on stderr, the final status as JSON on stdout, exit 0", async () => {
    const run = await runAgg(
      ["request", "--users", [...users, "nobody"].join(","), "--mode", "regenerate", "--wait"],
      { env },
    );
    expect(run.code, run.stderr).toBe(0);
    const final = JSON.parse(run.stdout);
    expect(final).toEqual({
      batchId: expect.any(String),
      state: "completed",
      users: 4,
      done: 3,
      failed: 0,
      skipped: 1,
    });
    // Not a terminal: one plain line per change, no carriage returns.
    const lines = run.stderr.trimEnd().split("\n");
    expect(run.stderr).not.toContain("\r");
    expect(lines[0]).toBe(`batch ${final.batchId} 0/4 done, 0 failed, 0 skipped`);
    expect(lines.at(-1)).toBe(`batch ${final.batchId} completed: 3/4 done, 0 failed, 1 skipped`);
  });

  it("request prints the reply; status prints the batch; errors from the engine keep their code", async () => {
    const accepted = await runAgg(
      ["request", "--users", users[0]!, "--from", "2024-01-01", "--to", "2024-01-02"],
      {
        env,
      },
    );
    expect(accepted.code, accepted.stderr).toBe(0);
    const reply = JSON.parse(accepted.stdout);
    expect(reply).toEqual({ batchId: expect.any(String), users: 1 });

    const [status, unknown, tooMany] = await Promise.all([
      runAgg(["status", reply.batchId], { env }),
      runAgg(["status", "bnosuchbatch"], { env }),
      // Passes the CLI's checks; the engine's limit (20 users here) refuses it.
      runAgg(["request", "--users", Array.from({ length: 21 }, (_, i) => `u${i}`).join(",")], { env }),
    ]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ batchId: reply.batchId, users: 1 });

    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe("agg status: NOT_FOUND: no batch bnosuchbatch");
    expect(unknown.stdout).toBe("");

    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toContain("agg request: BAD_REQUEST: users");
    expect(tooMany.stderr).toContain("at most 20 users");
  });

  it("inspect prints the instances and their actors, narrowed by --user", async () => {
    const [all, one] = await Promise.all([
      runAgg(["inspect"], { env }),
      runAgg(["inspect", "--user", users[1]!], { env }),
    ]);
    expect(all.code, all.stderr).toBe(0);
    const reply = JSON.parse(all.stdout);
    expect(reply.instances).toEqual([expect.objectContaining({ id: instance })]);
    const userActors = reply.actors.filter((a: { machine: string }) => a.machine === "userAggregator");
    expect(userActors.map((a: { userId: string }) => a.userId).sort()).toEqual([...users].sort());

    expect(one.code, one.stderr).toBe(0);
    const narrowed = JSON.parse(one.stdout);
    expect(narrowed.instances).toEqual(reply.instances);
    expect(narrowed.actors).toEqual([expect.objectContaining({ userId: users[1], instance })]);
  });

  it("inspect --watch redraws a table until Ctrl-C, then exits 0", async () => {
    const watch = startAgg(["inspect", "--watch", "--user", users[2]!], { env });
    await watch.waitForStdout(`user:${users[2]}`);
    const table = watch.stdout();
    expect(table).toContain(`1 instance: ${instance}`);
    expect(table).toMatch(/INSTANCE\s+ACTOR\s+MACHINE\s+STATE\s+USER\s+BATCH\s+PROGRESS/);
    expect(table).toContain("userAggregator");
    watch.child.kill("SIGINT");
    const run = await watch.result;
    expect(run.code, run.stderr).toBe(0);
  });
});

describe("pnpm agg with no engine answering", () => {
  const prefix = uniquePrefix("clinone");
  const env = { NATS_URL: TEST_NATS_URL, AGG_PREFIX: prefix };

  it("request, status and inspect exit 3 with one clear line; so does an unreachable NATS", async () => {
    const [request, status, inspect, noNats] = await Promise.all([
      runAgg(["request", "--users", "alice", "--wait"], { env }),
      runAgg(["status", "bsomebatch"], { env }),
      runAgg(["inspect"], { env }),
      runAgg(["status", "bsomebatch"], { env: { NATS_URL: "nats://app:hunter2@127.0.0.1:1" } }),
    ]);
    expect(request.code).toBe(3);
    expect(request.stderr).toBe(
      `agg request: no engine is answering on ${prefix}.request — is \`pnpm start\` running?\n`,
    );
    expect(request.stdout).toBe("");
    expect(status.code).toBe(3);
    expect(status.stderr).toContain(`no engine is answering on ${prefix}.status`);
    expect(inspect.code).toBe(3);
    expect(inspect.stderr).toContain(`no engine is answering on ${prefix}.inspect`);

    expect(noNats.code).toBe(3);
    expect(noNats.stderr).toContain("cannot connect to NATS at nats://app:***@127.0.0.1:1");
    expect(noNats.stderr).not.toContain("hunter2");
  });

  it("inspect --watch shows no instances instead of failing", async () => {
    const watch = startAgg(["inspect", "--watch"], { env });
    await watch.waitForStdout("no instances");
    watch.child.kill("SIGINT");
    const run = await watch.result;
    expect(run.code, run.stderr).toBe(0);
  });
});

describe("pnpm agg request / status / inspect: bad input exits 2 before NATS is touched", () => {
  // NATS is unreachable here: a bad flag must be refused first, by the engine's own rules.
  const env = { NATS_URL: "nats://127.0.0.1:1" };
  const cases: [string[], string, string][] = [
    [["request", "--users", ""], "--users", "is empty"],
    [["request", "--users", "a,,b"], "--users", "empty user id"],
    [["request", "--mode", "all"], "--mode", "is not a mode"],
    [["request", "--from", "2024-02-30"], "--from", "not a valid date"],
    [["request", "--to", "2023-13-01"], "--to", "not a valid date"],
    [["request", "--from", "2024-03-05", "--to", "2024-03-01"], "--from 2024-03-05", "is after --to"],
    [["request", "--wait", "--timeout", "soon"], "--timeout", "not a number of seconds"],
    [["request", "--timeout", "5"], "--timeout", "only with --wait"],
    [["request", "--user", "a"], "--user", "unknown option"],
    [["status"], "<batchId>", "is required"],
    [["status", "a.b"], "<batchId>", "not a batch id"],
    [["status", "b1", "b2"], "b2", "unexpected argument"],
    [["inspect", "--batch", "a.b"], "--batch", "not a batch id"],
    [["inspect", "--watch", "--state", ""], "--state", "is empty"],
  ];

  it("as a process: names the flag and the problem on one line", async () => {
    const run = await runAgg(["request", "--from", "2024-02-30", "--wait"], { env });
    expect(run).toEqual({
      code: 2,
      stdout: "",
      stderr: 'agg request: --from "2024-02-30" is not a valid date (expected YYYY-MM-DD)\n',
    });
  });

  // The same entry point in-process (a process each would cost a second apiece).
  it.each(cases)("%j exits 2 naming %s", async (args, flag, problem) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(args, {
      stdout: (text) => out.push(text),
      stderr: (text) => err.push(text),
      env,
      cwd: repoRoot,
    });
    expect(code, err.join("\n")).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toContain(flag);
    expect(err[0]).toContain(problem);
    expect(out).toEqual([]);
  });
});

describe("pnpm agg summary while a zero-configuration engine holds the embedded store", () => {
  const prefix = uniquePrefix("clisum");
  const data = generateDataset({ users: 2, days: 3, seed: 53, perDay: 8 });
  const user = data.users[0]!.id;
  let pglite: TestPgliteDir;
  let env: Record<string, string>;
  let engine: EngineProcess | undefined;

  beforeAll(async () => {
    pglite = await createTestPgliteDir();
    const store = await openDatabase({ dataDir: pglite.dataDir });
    try {
      await migrateToLatest(store.db);
      await insertDataset(store.db, data);
    } finally {
      await store.close();
    }
    // AGG_DATA_DIR/pglite is the store, for the engine and the CLI alike.
    env = { NATS_URL: TEST_NATS_URL, AGG_PREFIX: prefix, AGG_DATA_DIR: dirname(pglite.dataDir) };
    engine = await startEngineWithoutDatabaseUrl(`clisum-${prefix}`, env);
  });
  afterAll(async () => {
    await engine?.stop();
    pglite?.remove();
  });

  it("asks the engine over NATS, and prints what the store itself gives once the engine stopped", async () => {
    const batch = await runAgg(["request", "--users", user, "--wait"], { env });
    expect(batch.code, batch.stderr).toBe(0);

    const args = ["summary", "--user", user, "--from", addDaysIso(today, -5), "--to", today];
    const [viaEngine, unknown] = await Promise.all([
      runAgg(args, { env }),
      runAgg(["summary", "--user", "ghost", "--from", "2024-03-01", "--to", "2024-03-02"], { env }),
    ]);
    expect(viaEngine.code, viaEngine.stderr).toBe(0);
    const report = JSON.parse(viaEngine.stdout);
    expect(report).toMatchObject({ user, timeZone: expect.any(String) });
    expect(report.days.length).toBeGreaterThan(0);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown user "ghost"');

    await engine!.stop();
    engine = undefined;
    const direct = await runAgg(args, { env });
    expect(direct.code, direct.stderr).toBe(0);
    expect(JSON.parse(direct.stdout)).toEqual(report);
  });
});

/** `startEngine` in zero-configuration mode: without `DATABASE_URL`, even when the tests run with one. */
function startEngineWithoutDatabaseUrl(name: string, env: Record<string, string>): Promise<EngineProcess> {
  // startEngine passes the test's own environment on; the child's copy is taken at spawn, synchronously.
  const saved = process.env.DATABASE_URL;
  delete process.env.DATABASE_URL;
  try {
    return startEngine(name, env);
  } finally {
    if (saved !== undefined) process.env.DATABASE_URL = saved;
  }
}
