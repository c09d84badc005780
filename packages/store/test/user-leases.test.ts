import { type DaySummary, SummaryItemType } from "@agg/core";
import {
  acquireUserLeases,
  type Database,
  FencedOutError,
  InvalidInputError,
  listSummaries,
  releaseUserLeases,
  renewUserLeases,
  replaceDays,
  replaceUsersDays,
} from "@agg/store";
import { utcDaySummary } from "@agg/test-support";
import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertUser, storeFactories, type TestStore } from "./stores";

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 2, 1);
const TTL = 30_000;

function summary(userId: string, dayIndex: number, numHeartbeats: number): DaySummary {
  return utcDaySummary(userId, T0 + dayIndex * DAY, numHeartbeats, [
    { type: SummaryItemType.project, key: "agg", total: 10 },
  ]);
}

/** A user's fence row: token, holder, and the lease's end in ms after PostgreSQL's now() (null: not held). */
async function leaseRow(db: Kysely<Database>, userId: string) {
  const { rows } = await sql<{
    token: string;
    holder: string;
    left_ms: number | null;
    lease_until: Date | null;
  }>`
    select token::text as token, holder, lease_until,
           (extract(epoch from lease_until - now()) * 1000)::float8 as left_ms
    from agg_user_fences where user_id = ${userId}`.execute(db);
  const row = rows[0];
  return row
    ? { ...row, token: BigInt(row.token), left_ms: row.left_ms === null ? null : Number(row.left_ms) }
    : null;
}

/** Ends leases the way time would: lease_until moves into the past (no sleeping). */
async function expire(db: Kysely<Database>, ...userIds: string[]): Promise<void> {
  await sql`update agg_user_fences set lease_until = now() - interval '1 second'
    where user_id in (select jsonb_array_elements_text(cast(${JSON.stringify(userIds)} as jsonb)))`.execute(
    db,
  );
}

/** A database that fails the test if any query is attempted. */
const noQueries = new Proxy(
  {},
  {
    get() {
      throw new Error("no query expected");
    },
  },
) as Kysely<Database>;

describe.each(storeFactories)("user leases on $kind", ({ open }) => {
  let t: TestStore;

  beforeAll(async () => {
    t = await open();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it("grants a fresh user token 1 and an existing fence row its token + 1, until now() + ttl", async () => {
    // A row as an engine before user leases (migration 0005) left it: token 2, no lease.
    await sql`insert into agg_user_fences (user_id, token, holder) values ('a-old', 2, 'legacy')`.execute(
      t.db,
    );
    const granted = await acquireUserLeases(t.db, ["a-new", "a-old"], "h1", TTL);
    expect(granted).toEqual(
      new Map([
        ["a-new", 1n],
        ["a-old", 3n],
      ]),
    );
    for (const id of ["a-new", "a-old"]) {
      const row = await leaseRow(t.db, id);
      expect(row).toMatchObject({ token: granted.get(id), holder: "h1" });
      expect(row!.left_ms).toBeGreaterThan(TTL - 5_000);
      expect(row!.left_ms).toBeLessThanOrEqual(TTL);
    }
  });

  it("refuses a live lease to everyone, its holder included, and grants it after expiry with token + 1", async () => {
    expect(await acquireUserLeases(t.db, ["b"], "h1", TTL)).toEqual(new Map([["b", 1n]]));
    const held = await leaseRow(t.db, "b");
    expect(await acquireUserLeases(t.db, ["b"], "h2", TTL)).toEqual(new Map());
    expect(await acquireUserLeases(t.db, ["b"], "h1", TTL)).toEqual(new Map());
    expect(await leaseRow(t.db, "b")).toMatchObject({
      token: 1n,
      holder: "h1",
      lease_until: held!.lease_until,
    });

    await expire(t.db, "b");
    expect(await acquireUserLeases(t.db, ["b"], "h2", TTL)).toEqual(new Map([["b", 2n]]));
    expect(await leaseRow(t.db, "b")).toMatchObject({ token: 2n, holder: "h2" });
    expect((await leaseRow(t.db, "b"))!.left_ms).toBeGreaterThan(0);
  });

  it("release lets another holder take the lease at once; the token stays", async () => {
    const token = (await acquireUserLeases(t.db, ["c"], "h1", TTL)).get("c")!;
    await releaseUserLeases(t.db, [{ userId: "c", token }], "h1");
    expect(await leaseRow(t.db, "c")).toMatchObject({ token, holder: "h1", lease_until: null });
    expect(await acquireUserLeases(t.db, ["c"], "h2", TTL)).toEqual(new Map([["c", token + 1n]]));
    // A released lease is not revived by its former holder's renew.
    expect(await renewUserLeases(t.db, [{ userId: "c", token }], "h1", TTL)).toEqual(new Set());
  });

  it("changes nothing on release or renew with a stale token or another holder", async () => {
    const stale = (await acquireUserLeases(t.db, ["d"], "h1", TTL)).get("d")!;
    await expire(t.db, "d");
    const current = (await acquireUserLeases(t.db, ["d"], "h2", TTL)).get("d")!;
    expect(current).toBe(stale + 1n);
    const before = await leaseRow(t.db, "d");

    await releaseUserLeases(t.db, [{ userId: "d", token: stale }], "h1"); // lapsed holder, old tenure
    await releaseUserLeases(t.db, [{ userId: "d", token: current }], "h1"); // current token, wrong holder
    await releaseUserLeases(t.db, [{ userId: "d", token: stale }], "h2"); // right holder, wrong token
    expect(await renewUserLeases(t.db, [{ userId: "d", token: stale }], "h1", 3_600_000)).toEqual(new Set());
    expect(await renewUserLeases(t.db, [{ userId: "d", token: current }], "h1", 3_600_000)).toEqual(
      new Set(),
    );
    expect(await renewUserLeases(t.db, [{ userId: "d", token: stale }], "h2", 3_600_000)).toEqual(new Set());
    const after = await leaseRow(t.db, "d");
    expect({ ...after, left_ms: 0 }).toEqual({ ...before, left_ms: 0 });
    expect(after!.lease_until).not.toBeNull();
  });

  it("renews only the leases still held, moving their end to now() + ttl", async () => {
    const ids = ["e-live", "e-taken", "e-released", "e-lapsed"];
    const granted = await acquireUserLeases(t.db, ids, "h1", TTL);
    expect(granted.size).toBe(4);
    const held = ids.map((userId) => ({ userId, token: granted.get(userId)! }));
    await sql`update agg_user_fences set lease_until = now() + interval '1 second' where user_id = 'e-live'`.execute(
      t.db,
    );
    await expire(t.db, "e-taken", "e-lapsed");
    expect(await acquireUserLeases(t.db, ["e-taken"], "h2", TTL)).toEqual(new Map([["e-taken", 2n]]));
    await releaseUserLeases(t.db, [held[2]!], "h1");

    // e-lapsed expired but nobody took it: its tenure (token) never ended, so it renews.
    expect(await renewUserLeases(t.db, held, "h1", 600_000)).toEqual(new Set(["e-live", "e-lapsed"]));
    for (const id of ["e-live", "e-lapsed"]) {
      const row = await leaseRow(t.db, id);
      expect(row).toMatchObject({ token: 1n, holder: "h1" });
      expect(row!.left_ms).toBeGreaterThan(590_000);
    }
    expect(await leaseRow(t.db, "e-taken")).toMatchObject({ token: 2n, holder: "h2" });
    expect(await leaseRow(t.db, "e-released")).toMatchObject({ token: 1n, lease_until: null });
    // Renewed leases are live: nobody else can take them.
    expect(await acquireUserLeases(t.db, ["e-live", "e-lapsed"], "h2", TTL)).toEqual(new Map());
  });

  it("refuses writes under a replaced tenure with FencedOutError and accepts the new holder's", async () => {
    await insertUser(t.db, "f-user");
    const first = (await acquireUserLeases(t.db, ["f-user"], "h1", TTL)).get("f-user")!;
    expect(
      await replaceUsersDays(t.db, [
        { days: [summary("f-user", 0, 1)], fence: { token: first, holder: "h1" } },
      ]),
    ).toEqual([null]);

    await expire(t.db, "f-user");
    const second = (await acquireUserLeases(t.db, ["f-user"], "h2", TTL)).get("f-user")!;
    const [refused] = await replaceUsersDays(t.db, [
      { days: [summary("f-user", 0, 99)], fence: { token: first, holder: "h1" } },
    ]);
    expect(refused).toBeInstanceOf(FencedOutError);
    expect(refused).toMatchObject({
      code: "LEASE_LOST",
      userId: "f-user",
      token: String(first),
      currentToken: String(second),
      currentHolder: "h2",
    });
    expect(
      await replaceUsersDays(t.db, [
        { days: [summary("f-user", 0, 2)], fence: { token: second, holder: "h2" } },
      ]),
    ).toEqual([null]);

    // The same holder taking the lease again starts a new tenure: its old token is refused too.
    await expire(t.db, "f-user");
    const third = (await acquireUserLeases(t.db, ["f-user"], "h1", TTL)).get("f-user")!;
    expect(third).toBe(second + 1n);
    await expect(
      replaceDays(t.db, [summary("f-user", 0, 98)], { fence: { token: first, holder: "h1" } }),
    ).rejects.toBeInstanceOf(FencedOutError);
    await expect(
      replaceDays(t.db, [summary("f-user", 0, 97)], { fence: { token: second, holder: "h2" } }),
    ).rejects.toBeInstanceOf(FencedOutError);
    const [day] = await listSummaries(t.db, "f-user", T0, T0 + DAY);
    expect(day?.numHeartbeats).toBe(2);
    // Writing under a lease leaves the lease as it was.
    await replaceDays(t.db, [summary("f-user", 0, 3)], { fence: { token: third, holder: "h1" } });
    expect(await leaseRow(t.db, "f-user")).toMatchObject({ token: third, holder: "h1" });
    expect((await leaseRow(t.db, "f-user"))!.left_ms).toBeGreaterThan(0);
  });

  it("counts duplicates once and sends no query for empty input", async () => {
    expect(await acquireUserLeases(t.db, ["g", "g", "g"], "h1", TTL)).toEqual(new Map([["g", 1n]]));
    const lease = { userId: "g", token: 1n };
    expect(await renewUserLeases(t.db, [lease, lease, { ...lease }], "h1", TTL)).toEqual(new Set(["g"]));
    await releaseUserLeases(t.db, [lease, lease], "h1");
    expect(await leaseRow(t.db, "g")).toMatchObject({ token: 1n, lease_until: null });

    expect(await acquireUserLeases(noQueries, [], "h1", TTL)).toEqual(new Map());
    expect(await renewUserLeases(noQueries, [], "h1", TTL)).toEqual(new Set());
    await releaseUserLeases(noQueries, [], "h1");
  });

  it("refuses a ttlMs that is not a positive integer", async () => {
    for (const ttlMs of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(acquireUserLeases(t.db, ["h-bad"], "h1", ttlMs)).rejects.toBeInstanceOf(InvalidInputError);
      await expect(acquireUserLeases(t.db, [], "h1", ttlMs)).rejects.toBeInstanceOf(InvalidInputError);
      await expect(
        renewUserLeases(t.db, [{ userId: "h-bad", token: 1n }], "h1", ttlMs),
      ).rejects.toBeInstanceOf(InvalidInputError);
    }
    expect(await leaseRow(t.db, "h-bad")).toBeNull();
  });

  it("grants each user to exactly one of several holders racing for overlapping users, without deadlock", async () => {
    const users = Array.from({ length: 40 }, (_, i) => `r-${String(i).padStart(2, "0")}`);
    // Each holder asks in its own order; the statement locks rows in one order, so none waits in a cycle.
    const race = (round: number) =>
      Promise.all(
        Array.from({ length: 8 }, (_, k) =>
          acquireUserLeases(
            t.db,
            k % 2 === 0 ? [...users.slice(k * 5), ...users.slice(0, k * 5)] : [...users].reverse(),
            `racer-${round}-${k}`,
            TTL,
          ),
        ),
      );
    // Round 1: no rows yet; round 2: every row exists (and is locked by ON CONFLICT), every lease expired.
    for (const round of [1, 2]) {
      if (round === 2) await expire(t.db, ...users);
      const results = await race(round);
      const grants = results.flatMap((r, k) =>
        [...r].map(([userId, token]) => ({ userId, token, holder: `racer-${round}-${k}` })),
      );
      expect(grants.map((g) => g.userId).sort()).toEqual(users);
      expect(grants.every((g) => g.token === BigInt(round))).toBe(true);
      for (const g of grants) {
        expect(await leaseRow(t.db, g.userId)).toMatchObject({ token: g.token, holder: g.holder });
      }
    }
  });

  it("either renews a lapsed lease or lets another holder take it, never both, when the two race", async () => {
    const users = Array.from({ length: 30 }, (_, i) => `s-${String(i).padStart(2, "0")}`);
    const granted = await acquireUserLeases(t.db, users, "h1", TTL);
    const held = users.map((userId) => ({ userId, token: granted.get(userId)! }));
    await expire(t.db, ...users);
    const [renewed, taken] = await Promise.all([
      renewUserLeases(t.db, [...held].reverse(), "h1", TTL),
      acquireUserLeases(t.db, users, "h2", TTL),
    ]);
    expect([...renewed].filter((id) => taken.has(id))).toEqual([]);
    expect([...renewed, ...taken.keys()].sort()).toEqual(users);
    for (const id of users) {
      expect(await leaseRow(t.db, id)).toMatchObject(
        renewed.has(id) ? { token: 1n, holder: "h1" } : { token: 2n, holder: "h2" },
      );
    }
  });
});
