import {
  addDays,
  type DayDuration,
  type DayRange,
  dayIntervals,
  type Heartbeat,
  localDayOf,
  summarizeDays,
  summarizeDurations,
  type UserSettings,
} from "@agg/core";
import {
  type AggDatabase,
  type Database,
  firstHeartbeatTime,
  InvalidInputError,
  loadDayDurations,
  loadUserSettings,
  loadUsersDayDurations,
  migrateToLatest,
  streamHeartbeats,
} from "@agg/store";
import { generateDataset, insertDataset, openTestPostgres } from "@agg/test-support";
import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oversizedForCoveringIndex } from "../src/repository/covering-index-fit";
import { storeFactories, type TestStore } from "./stores";

const NOW = Date.UTC(2025, 2, 31, 12); // the data spans DST changes of both hemispheres

async function readAll(db: Kysely<Database>, userId: string, range: DayRange, zone: string) {
  const days = dayIntervals(range, zone);
  const heartbeats: Heartbeat[] = [];
  for await (const page of streamHeartbeats(db, userId, days[0]!.fromTime, days[days.length - 1]!.toTime)) {
    heartbeats.push(...page);
  }
  return heartbeats;
}

/** The durations path, through the database, in chunks of `daysPerQuery` days. */
async function viaDurations(db: Kysely<Database>, s: UserSettings, range: DayRange, daysPerQuery: number) {
  const days = dayIntervals(range, s.timeZone);
  const out = [];
  for (let i = 0; i < days.length; i += daysPerQuery) {
    const chunk = days.slice(i, i + daysPerQuery);
    const rows = await loadDayDurations(db, s.userId, chunk, s.timeoutMs, s.languageMappings.length > 0);
    out.push(...summarizeDurations(s, chunk, rows));
  }
  return out;
}

describe.each(storeFactories)("day durations on $kind", ({ open }) => {
  let t: TestStore;
  const data = generateDataset({ users: 12, days: 20, seed: 41, nowMs: NOW, perDay: 60 });

  beforeAll(async () => {
    t = await open();
    await insertDataset(t.db, data);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it("give exactly the streaming reducer's summaries for every user, whatever the days per query", async () => {
    let compared = 0;
    for (const user of data.users) {
      const s = (await loadUserSettings(t.db, user.id))!;
      const times = data.heartbeats.filter((h) => h.userId === user.id).map((h) => h.time);
      const range = { from: localDayOf(Math.min(...times), s.timeZone), to: localDayOf(NOW, s.timeZone) };
      const expected = summarizeDays(s, range, await readAll(t.db, user.id, range, s.timeZone));
      expect(expected.some((d) => d.items.length > 0)).toBe(true);
      for (const perQuery of [1, 7, 31]) {
        expect(await viaDurations(t.db, s, range, perQuery)).toEqual(expected);
      }
      compared += expected.length;
    }
    expect(compared).toBeGreaterThan(200);
  });

  it("answer several users in one query exactly as one by one, each with their own days and timeout", async () => {
    const requests = [];
    for (const user of data.users) {
      const s = (await loadUserSettings(t.db, user.id))!;
      const to = localDayOf(NOW, s.timeZone);
      const days = dayIntervals({ from: addDays(to, -3), to }, s.timeZone);
      requests.push({
        userId: user.id,
        days,
        timeoutMs: s.timeoutMs,
        withEntity: s.languageMappings.length > 0,
      });
    }
    requests.push({ userId: data.users[0]!.id, days: [], timeoutMs: 1000, withEntity: false });
    const together = await loadUsersDayDurations(t.db, requests);
    const sortRows = (rows: DayDuration[]) =>
      [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(together).toHaveLength(requests.length);
    for (const [k, r] of requests.entries()) {
      const alone = await loadDayDurations(t.db, r.userId, r.days, r.timeoutMs, r.withEntity);
      expect(sortRows(together[k]!)).toEqual(sortRows(alone));
    }
    expect(together.flat().length).toBeGreaterThan(50);
    expect(together[requests.length - 1]).toEqual([]);
    // Entities only for the users who asked for them (those with mappings), in the same statement.
    for (const [k, r] of requests.entries()) {
      const entities = together[k]!.map((d) => d.entity);
      if (r.withEntity) expect(entities.length > 0 && entities.every((e) => e !== null)).toBe(true);
      else expect(entities.every((e) => e === null)).toBe(true);
    }
    expect(requests.some((r) => r.withEntity) && requests.some((r) => !r.withEntity)).toBe(true);
  });

  it("returns nothing for a user without heartbeats in the days", async () => {
    const days = dayIntervals({ from: "2020-01-01", to: "2020-01-03" }, "UTC");
    expect(await loadDayDurations(t.db, data.users[0]!.id, days, 600_000, false)).toEqual([]);
  });

  it("refuses days that are not contiguous, and a bad timeout, before querying", async () => {
    const [a, , c] = dayIntervals({ from: "2025-01-01", to: "2025-01-03" }, "UTC");
    await expect(loadDayDurations(t.db, "u", [a!, c!], 600_000, false)).rejects.toThrow(InvalidInputError);
    await expect(loadDayDurations(t.db, "u", [a!], 0, false)).rejects.toThrow(InvalidInputError);
  });
});

describe("day durations on PostgreSQL with microsecond times", () => {
  let store: AggDatabase;

  beforeAll(async () => {
    store = await openTestPostgres();
    await migrateToLatest(store.db);
    await store.db.insertInto("users").values({ id: "micro" }).execute();
    // Not Wakapi's timestamptz(3): gaps must still be measured between floored milliseconds.
    await sql`alter table heartbeats alter column time type timestamptz(6)`.execute(store.db);
  });
  afterAll(async () => {
    await store?.close();
  });

  it("credits the gaps between floored milliseconds, as the reducer sees the driver's times", async () => {
    const times = ["00:00:00.000900", "00:00:01.000100", "00:00:01.999999", "00:00:03.500000"];
    await store.db
      .insertInto("heartbeats")
      .values(
        times.map((time, i) => ({
          id: i + 1,
          user_id: "micro",
          entity: "x",
          time: `2024-03-01T${time}Z`,
          created_at: new Date(),
        })),
      )
      .execute();
    const days = dayIntervals({ from: "2024-03-01", to: "2024-03-01" }, "UTC");
    const rows = await loadDayDurations(store.db, "micro", days, 600_000, false);
    // 0 -> 1000 -> 1999 -> 3500 ms: credits 1000 + 999 + 1501, the last earns nothing.
    expect(rows).toEqual([expect.objectContaining({ dayIndex: 0, creditedMs: 3500, heartbeats: 4 })]);
  });

  it("floors to the millisecond exactly before 1970 and far ahead, where rounding would not", async () => {
    await store.db.insertInto("users").values({ id: "micro-edges" }).execute();
    // One project per heartbeat, so each row's credit is one gap. Floored: 0, 1000, 1999
    // and 3000 ms, gaps 1000, 999, 1001; rounded (or truncated toward zero before 1970):
    // 1, 1000, 2000, 3000, gaps 999, 1000, 1000; a whole millisecond read as a hair less
    // (a floating-point slip) would move 1000 to 999.
    const offsets = ["00:00:00.000999", "00:00:01.000000", "00:00:01.999999", "00:00:03.000000"];
    const days = ["1901-03-07", "1969-12-31", "2024-03-02", "2250-11-30"];
    await store.db
      .insertInto("heartbeats")
      .values(
        days.flatMap((day, d) =>
          offsets.map((offset, i) => ({
            id: 100 + d * 10 + i,
            user_id: "micro-edges",
            entity: "x",
            project: `p${i}`,
            time: `${day}T${offset}Z`,
            created_at: new Date(),
          })),
        ),
      )
      .execute();
    for (const day of days) {
      const rows = await loadDayDurations(
        store.db,
        "micro-edges",
        dayIntervals({ from: day, to: day }, "UTC"),
        600_000,
        false,
      );
      const credits = Object.fromEntries(rows.map((r) => [r.project, r.creditedMs]));
      expect({ day, credits }).toEqual({ day, credits: { p0: 1000, p1: 999, p2: 1001, p3: 0 } });
    }
  });
});

describe.each(storeFactories)("heartbeats too big for the covering index on $kind", ({ open }) => {
  let t: TestStore;
  const data = generateDataset({ users: 4, days: 6, seed: 97, nowMs: NOW, perDay: 30 });
  // Every third heartbeat of each user, the first included, gets a path far over a
  // btree entry's 2.7 kB, keeping its extension so language mappings still apply.
  const seen = new Map<string, number>();
  for (const h of data.heartbeats) {
    const n = seen.get(h.userId) ?? 0;
    seen.set(h.userId, n + 1);
    if (n % 3 === 0) h.entity = `/${"deep/".repeat(600)}${h.entity}`;
  }

  beforeAll(async () => {
    t = await open();
    // Inserting them must not fail on the engine's index (Wakapi's inserts would).
    await insertDataset(t.db, data);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it("are kept out of it, and still read, in order, and credited exactly", async () => {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int4 as n from heartbeats where ${sql.raw(oversizedForCoveringIndex())}`.execute(t.db);
    expect(rows[0]!.n).toBe(data.heartbeats.filter((h) => h.entity.length > 3000).length);
    expect(rows[0]!.n).toBeGreaterThan(10);
    for (const user of data.users) {
      const own = data.heartbeats.filter((h) => h.userId === user.id);
      const s = (await loadUserSettings(t.db, user.id))!;
      const range = { from: localDayOf(own[0]!.time, s.timeZone), to: localDayOf(NOW, s.timeZone) };
      const read = await readAll(t.db, user.id, range, s.timeZone);
      const byTimeThenId = [...own].sort((a, b) => a.time - b.time || a.id - b.id);
      expect(read.map((h) => [h.time, h.id, h.entity])).toEqual(
        byTimeThenId.map((h) => [h.time, h.id, h.entity]),
      );
      expect(await firstHeartbeatTime(t.db, user.id)).toBe(byTimeThenId[0]!.time);
      const expected = summarizeDays(s, range, read);
      expect(expected.some((d) => d.items.length > 0)).toBe(true);
      for (const perQuery of [1, 31]) {
        expect(await viaDurations(t.db, s, range, perQuery)).toEqual(expected);
      }
    }
  });
});
