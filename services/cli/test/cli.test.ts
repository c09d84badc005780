import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DaySummary, SummaryItemType } from "@agg/core";
import { MIGRATIONS, openDatabase, replaceDays } from "@agg/store";
import { createTestDatabase, type TestDatabase } from "@agg/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgg } from "./run-agg";

const ALL_MIGRATIONS = Object.keys(MIGRATIONS);

describe("pnpm agg migrate / summary on PostgreSQL", () => {
  let testDb: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    testDb = await createTestDatabase({ wakapiFixture: true });
    env = { DATABASE_URL: testDb.url };
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  it("says to migrate first when the tables are missing", async () => {
    const empty = await createTestDatabase();
    try {
      const run = await runAgg(["summary", "--user", "u", "--from", "2024-03-01", "--to", "2024-03-01"], {
        env: { DATABASE_URL: empty.url },
      });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain("pnpm agg migrate");
    } finally {
      await empty.drop();
    }
  });

  it("migrates, reporting what it applied, then nothing", async () => {
    const first = await runAgg(["migrate"], { env });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({
      database: "postgres",
      applied: ALL_MIGRATIONS,
      duplicateSummaries: [],
      warnings: [],
    });
    for (const name of ALL_MIGRATIONS) expect(first.stderr).toContain(`applied ${name}`);

    const second = await runAgg(["migrate"], { env });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ applied: [], duplicateSummaries: [] });
    expect(second.stderr).toContain("up to date");
  });

  it("prints the stored summaries of local days in the user's zone", async () => {
    const store = await openDatabase({ url: testDb.url });
    try {
      await store.db.insertInto("users").values({ id: "ny", location: "America/New_York" }).execute();
      // 2024-03-09 (24 h, EST), 2024-03-10 (23 h: DST starts), 2024-03-11 (EDT).
      const day = (d: string, from: string, to: string, n: number): DaySummary => ({
        userId: "ny",
        day: d,
        fromTime: Date.parse(from),
        toTime: Date.parse(to),
        numHeartbeats: n,
        items:
          n === 0
            ? []
            : [
                { type: SummaryItemType.project, key: "agg", total: 65 },
                { type: SummaryItemType.editor, key: "GoLand", total: 50 },
                { type: SummaryItemType.editor, key: "vscode", total: 15 },
              ],
      });
      await replaceDays(store.db, [
        day("2024-03-09", "2024-03-09T05:00:00Z", "2024-03-10T05:00:00Z", 7),
        day("2024-03-10", "2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z", 0),
        day("2024-03-11", "2024-03-11T04:00:00Z", "2024-03-12T04:00:00Z", 3),
      ]);
    } finally {
      await store.close();
    }

    const run = await runAgg(["summary", "--user", "ny", "--from", "2024-03-10", "--to", "2024-03-11"], {
      env,
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      user: "ny",
      timeZone: "America/New_York",
      days: [
        {
          day: "2024-03-10",
          from: "2024-03-10T05:00:00.000Z",
          to: "2024-03-11T04:00:00.000Z",
          numHeartbeats: 0,
          items: [],
        },
        {
          day: "2024-03-11",
          from: "2024-03-11T04:00:00.000Z",
          to: "2024-03-12T04:00:00.000Z",
          numHeartbeats: 3,
          items: [
            { type: 0, key: "agg", total: 65 },
            { type: 2, key: "GoLand", total: 50 },
            { type: 2, key: "vscode", total: 15 },
          ],
        },
      ],
    });

    const none = await runAgg(["summary", "--user", "ny", "--from", "2023-01-01", "--to", "2023-01-31"], {
      env,
    });
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual({ user: "ny", timeZone: "America/New_York", days: [] });
  });

  it("refuses an unknown user with exit 2", async () => {
    const run = await runAgg(["summary", "--user", "ghost", "--from", "2024-03-01", "--to", "2024-03-02"], {
      env,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown user "ghost"');
    expect(run.stdout).toBe("");
  });

  it("reports duplicate summaries of an existing Wakapi database without failing", async () => {
    const wakapi = await createTestDatabase({ wakapiFixture: true });
    try {
      const store = await openDatabase({ url: wakapi.url });
      try {
        await store.db.insertInto("users").values({ id: "dup", location: null }).execute();
        const from = new Date("2024-03-01T00:00:00Z");
        await store.db
          .insertInto("summaries")
          .values([1, 2].map(() => ({ user_id: "dup", from_time: from, to_time: from, num_heartbeats: 1 })))
          .execute();
      } finally {
        await store.close();
      }
      const run = await runAgg(["migrate"], { env: { DATABASE_URL: wakapi.url } });
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.duplicateSummaries).toEqual([
        { userId: "dup", fromTime: "2024-03-01T00:00:00.000Z", count: 2 },
      ]);
      expect(report.warnings).toHaveLength(1);
      expect(run.stderr).toContain("duplicate summaries: user dup from 2024-03-01T00:00:00.000Z: 2 rows");
    } finally {
      await wakapi.drop();
    }
  });
});

describe("pnpm agg: bad input and unreachable databases", () => {
  const unreachable = { DATABASE_URL: "postgres://postgres:hunter2@127.0.0.1:1/x" };

  it.each([
    [["summary", "--user", "u", "--from", "2024-13-01", "--to", "2024-12-31"], "--from", "not a valid date"],
    [["summary", "--user", "u", "--from", "2024-02-28", "--to", "2024-02-30"], "--to", "not a valid date"],
    [["summary", "--user", "u", "--from", "yesterday", "--to", "2024-02-03"], "--from", "not a valid date"],
    [
      ["summary", "--user", "u", "--from", "2024-03-05", "--to", "2024-03-01"],
      "--from 2024-03-05",
      "is after --to",
    ],
    [["summary", "--user", "u", "--from", "2024-03-01"], "--to", "is required"],
    [["summary", "--from", "2024-03-01", "--to", "2024-03-01"], "--user", "is required"],
    [["summary", "--users", "u", "--from", "2024-03-01", "--to", "2024-03-01"], "--users", "unknown option"],
    [["summary", "--user"], "--user", "argument missing"],
    [["migrate", "--force"], "--force", "unknown option"],
    [["frobnicate"], "frobnicate", "unknown command"],
  ])("%j exits 2 naming %s", async (args, flag, problem) => {
    // Bad input is refused before the database is touched (it is unreachable here).
    const run = await runAgg(args, { env: unreachable });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(flag);
    expect(run.stderr).toContain(problem);
    expect(run.stdout).toBe("");
  });

  it.each([["migrate"], ["summary", "--user", "u", "--from", "2024-03-01", "--to", "2024-03-01"]])(
    "%j exits 3 with one clear line when the database is unreachable",
    async (...args) => {
      const run = await runAgg(args, { env: unreachable });
      expect(run.code).toBe(3);
      const lines = run.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("127.0.0.1:1");
      expect(run.stderr).not.toContain("hunter2");
      expect(run.stdout).toBe("");
    },
  );

  it("exits 3 on a malformed DATABASE_URL, password redacted", async () => {
    const run = await runAgg(["migrate"], { env: { DATABASE_URL: "postgres://app:hunter2@db:notaport/x" } });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("malformed database URL");
    expect(run.stderr).not.toContain("hunter2");
  });

  it("prints help", async () => {
    const run = await runAgg(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("pnpm agg summary --user U");
  });
});

describe("pnpm agg without DATABASE_URL", () => {
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), "agg-cli-"));
  });
  afterAll(() => {
    rmSync(cwd, { recursive: true, force: true });
  });

  it("migrates the embedded store under ./data/pglite", { timeout: 120_000 }, async () => {
    const run = await runAgg(["migrate"], { cwd });
    expect(run.stderr).toContain("PGlite");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ database: "pglite", applied: ALL_MIGRATIONS });
    expect(existsSync(join(cwd, "data", "pglite", "PG_VERSION"))).toBe(true);

    const summary = await runAgg(
      ["summary", "--user", "nobody", "--from", "2024-03-01", "--to", "2024-03-01"],
      { cwd },
    );
    expect(summary.code).toBe(2);
    expect(summary.stderr).toContain("unknown user");
  });
});
