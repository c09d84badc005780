import { type DaySummary, SummaryItemType } from "@agg/core";
import {
  claimFence,
  FencedOutError,
  findKnownUsers,
  firstHeartbeatTime,
  InvalidInputError,
  latestSummaryFrom,
  listSummaries,
  listUserIds,
  loadUserSettings,
  loadUsersPlanInputs,
  replaceDay,
  replaceDays,
  replaceUsersDays,
  streamHeartbeats,
} from "@agg/store";
import { utcDaySummary } from "@agg/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertHeartbeats, insertUser, storeFactories, type TestStore } from "./stores";

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 2, 1); // 2024-03-01T00:00Z

function summary(userId: string, dayIndex: number, numHeartbeats: number, editorTotal = 10): DaySummary {
  return utcDaySummary(userId, T0 + dayIndex * DAY, numHeartbeats, [
    { type: SummaryItemType.project, key: "agg", total: editorTotal },
    { type: SummaryItemType.editor, key: "vscode", total: editorTotal },
    { type: SummaryItemType.language, key: "Go", total: editorTotal },
  ]);
}

async function collect<T>(source: AsyncIterable<T[]>): Promise<T[][]> {
  const pages: T[][] = [];
  for await (const page of source) pages.push(page);
  return pages;
}

describe.each(storeFactories)("repositories on $kind", ({ open }) => {
  let t: TestStore;

  beforeAll(async () => {
    t = await open();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  describe("users", () => {
    beforeAll(async () => {
      await insertUser(t.db, "u-berlin", {
        location: "Europe/Berlin",
        timeoutSec: 120,
        excludeUnknown: true,
      });
      await insertUser(t.db, "u-defaults", { location: "Not/AZone", timeoutSec: 0, excludeUnknown: null });
      await insertUser(t.db, "u-null", { location: null, timeoutSec: null });
      await t.db
        .insertInto("language_mappings")
        .values([
          { user_id: "u-berlin", extension: "tsx", language: "TypeScript" },
          { user_id: "u-berlin", extension: "go", language: "Golang" },
          { user_id: "u-berlin", extension: null, language: "Nothing" },
        ])
        .execute();
    });

    it("lists user ids sorted and finds the known ones", async () => {
      const ids = await listUserIds(t.db);
      expect(ids.filter((id) => id.startsWith("u-"))).toEqual(["u-berlin", "u-defaults", "u-null"]);
      expect(await findKnownUsers(t.db, ["u-null", "ghost", "u-berlin", "u-null"])).toEqual(
        new Set(["u-null", "u-berlin"]),
      );
      expect(await findKnownUsers(t.db, [])).toEqual(new Set());
    });

    it("loads resolved settings with the user's language mappings", async () => {
      expect(await loadUserSettings(t.db, "u-berlin")).toEqual({
        userId: "u-berlin",
        timeZone: "Europe/Berlin",
        timeoutMs: 120_000,
        excludeUnknownProjects: true,
        languageMappings: [
          { extension: "tsx", language: "TypeScript" },
          { extension: "go", language: "Golang" },
        ],
      });
      expect(await loadUserSettings(t.db, "u-defaults")).toMatchObject({
        timeZone: "UTC",
        timeoutMs: 600_000,
        excludeUnknownProjects: false,
        languageMappings: [],
      });
      expect(await loadUserSettings(t.db, "u-null")).toMatchObject({ timeZone: "UTC", timeoutMs: 600_000 });
      expect(await loadUserSettings(t.db, "ghost")).toBeNull();
    });

    it("loads the plan inputs of many users in one query: the same settings, first heartbeat and latest summary", async () => {
      await insertUser(t.db, "u-plan", { location: "Asia/Kolkata" });
      await t.db
        .insertInto("language_mappings")
        .values([
          { user_id: "u-plan", extension: "js", language: "JS" },
          { user_id: "u-plan", extension: "", language: "Nothing" },
        ])
        .execute();
      const none = await loadUsersPlanInputs(t.db, ["u-plan", "ghost"]);
      expect([...none.keys()]).toEqual(["u-plan"]);
      expect(none.get("u-plan")).toEqual({
        settings: await loadUserSettings(t.db, "u-plan"),
        firstHeartbeatTime: null,
        latestSummaryFrom: null,
      });
      expect(none.get("u-plan")!.settings.languageMappings).toEqual([{ extension: "js", language: "JS" }]);
      await insertHeartbeats(t.db, "u-plan", [{ time: T0 + 5 * DAY + 7 }, { time: T0 + 2 * DAY + 123 }]);
      await replaceDays(t.db, [summary("u-plan", 3, 0), summary("u-plan", 4, 0)]);
      const both = await loadUsersPlanInputs(t.db, ["u-plan", "u-berlin", "u-plan"]);
      expect(both.get("u-plan")).toMatchObject({
        firstHeartbeatTime: T0 + 2 * DAY + 123,
        latestSummaryFrom: T0 + 4 * DAY,
      });
      expect(both.get("u-berlin")!.settings).toEqual(await loadUserSettings(t.db, "u-berlin"));
      expect(await loadUsersPlanInputs(t.db, [])).toEqual(new Map());
    });
  });

  describe("heartbeats", () => {
    const user = "u-stream";
    // 25 heartbeats; ties on time (groups of 3 share a millisecond), ids deliberately not in time order.
    const rows = Array.from({ length: 25 }, (_, i) => ({
      id: 1000 + ((i * 7) % 25),
      time: T0 + Math.floor(i / 3) * 1000,
    }));

    beforeAll(async () => {
      await insertUser(t.db, user);
      await insertUser(t.db, "u-other");
      await insertHeartbeats(t.db, user, rows);
      // Another user's heartbeat in the same range must never show up.
      await insertHeartbeats(t.db, "u-other", [{ id: 5000, time: T0 + 500 }]);
    });

    const expected = [...rows].sort((a, b) => a.time - b.time || a.id - b.id);

    it.each([1, 2, 3, 4, 7, 25, 100])(
      "pages by (time, id) across page boundaries (page size %i)",
      async (size) => {
        const pages = await collect(streamHeartbeats(t.db, user, T0, T0 + DAY, size));
        expect(pages.every((p) => p.length > 0 && p.length <= size)).toBe(true);
        expect(pages.length).toBe(Math.ceil(25 / size));
        expect(pages.flat().map((h) => [h.time, h.id])).toEqual(expected.map((h) => [h.time, h.id]));
      },
    );

    it("is half-open [from, to) and maps the row", async () => {
      const from = T0 + 1000;
      const to = T0 + 3000;
      const got = (await collect(streamHeartbeats(t.db, user, from, to, 2))).flat();
      expect(got.map((h) => h.id)).toEqual(
        expected.filter((h) => h.time >= from && h.time < to).map((h) => h.id),
      );
      expect(got[0]).toEqual({
        id: got[0]!.id,
        time: from,
        entity: "src/main.go",
        project: "agg",
        language: "Go",
        editor: "vscode",
        operatingSystem: null,
        machine: null,
        category: null,
      });
      expect(await collect(streamHeartbeats(t.db, user, to, from))).toEqual([]);
      expect(await collect(streamHeartbeats(t.db, "ghost", T0, T0 + DAY))).toEqual([]);
    });

    it("returns each row once when more rows than a page share one time", async () => {
      await t.db
        .insertInto("heartbeats")
        .values(
          [1, 2, 3, 4, 5].map((n) => ({
            id: 6000 + n,
            user_id: "u-other",
            entity: "x",
            time: `2024-03-02T00:00:00.000${n}00Z`,
            created_at: new Date(),
          })),
        )
        .execute();
      const got = (await collect(streamHeartbeats(t.db, "u-other", T0 + DAY, T0 + 2 * DAY, 2))).flat();
      // time is timestamptz(3): the five rows round to one millisecond.
      expect(got.map((h) => h.id).sort()).toEqual([6001, 6002, 6003, 6004, 6005]);
    });

    it("finds the first heartbeat time", async () => {
      expect(await firstHeartbeatTime(t.db, user)).toBe(T0);
      expect(await firstHeartbeatTime(t.db, "ghost")).toBeNull();
    });

    it("refuses a bad page size", async () => {
      await expect(collect(streamHeartbeats(t.db, user, T0, T0 + DAY, 0))).rejects.toBeInstanceOf(
        InvalidInputError,
      );
    });
  });

  describe("summaries", () => {
    beforeAll(async () => {
      for (const id of ["s-one", "s-race", "s-fence", "s-many"]) await insertUser(t.db, id);
    });

    it("replaces a day: one row and one set of items, whatever was there", async () => {
      await replaceDay(t.db, summary("s-one", 0, 5, 10));
      await replaceDay(t.db, summary("s-one", 1, 6, 20));
      await replaceDay(t.db, summary("s-one", 0, 7, 30));
      const stored = await listSummaries(t.db, "s-one", T0, T0 + 10 * DAY);
      expect(stored.map((s) => [s.fromTime, s.toTime, s.numHeartbeats])).toEqual([
        [T0, T0 + DAY, 7],
        [T0 + DAY, T0 + 2 * DAY, 6],
      ]);
      expect(stored[0]!.items).toEqual([
        { type: 0, key: "agg", total: 30 },
        { type: 1, key: "Go", total: 30 },
        { type: 2, key: "vscode", total: 30 },
      ]);
      expect(await latestSummaryFrom(t.db, "s-one")).toBe(T0 + DAY);
      expect(await latestSummaryFrom(t.db, "ghost")).toBeNull();
      const items = await t.db
        .selectFrom("summary_items")
        .innerJoin("summaries", "summaries.id", "summary_items.summary_id")
        .where("summaries.user_id", "=", "s-one")
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirst();
      expect(Number(items?.n)).toBe(6);
      const orphans = await t.db
        .selectFrom("summary_items")
        .where("summary_id", "not in", (eb) => eb.selectFrom("summaries").select("id"))
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirst();
      expect(Number(orphans?.n)).toBe(0);
    });

    it("writes a day without heartbeats as a row with no items", async () => {
      await replaceDay(t.db, { ...summary("s-one", 2, 0), items: [] });
      const [day] = await listSummaries(t.db, "s-one", T0 + 2 * DAY, T0 + 3 * DAY);
      expect(day).toMatchObject({ numHeartbeats: 0, items: [] });
    });

    it("keeps exactly one row and one set of items under 10 concurrent writers of one day", async () => {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => replaceDay(t.db, summary("s-race", 0, 100 + i, 100 + i))),
      );
      const stored = await listSummaries(t.db, "s-race", T0, T0 + DAY);
      expect(stored).toHaveLength(1);
      const winner = stored[0]!.numHeartbeats;
      expect(winner).toBeGreaterThanOrEqual(100);
      expect(stored[0]!.items.map((i) => i.total)).toEqual([winner, winner, winner]);
      const orphans = await t.db
        .selectFrom("summary_items")
        .leftJoin("summaries", "summaries.id", "summary_items.summary_id")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("summaries.id", "is", null)
        .executeTakeFirst();
      expect(Number(orphans?.n)).toBe(0);
    });

    it("replaces many days in one call, only the days given", async () => {
      await replaceDays(t.db, [summary("s-many", 0, 1), summary("s-many", 1, 1), summary("s-many", 5, 1)]);
      await replaceDays(t.db, [summary("s-many", 5, 2), summary("s-many", 1, 2)]);
      const stored = await listSummaries(t.db, "s-many", T0, T0 + 10 * DAY);
      expect(stored.map((s) => [(s.fromTime - T0) / DAY, s.numHeartbeats])).toEqual([
        [0, 1],
        [1, 2],
        [5, 2],
      ]);
      await expect(
        replaceDays(t.db, [summary("s-many", 0, 1), summary("s-one", 1, 1)]),
      ).rejects.toBeInstanceOf(InvalidInputError);
      await expect(
        replaceDays(t.db, [summary("s-many", 0, 1), summary("s-many", 0, 2)]),
      ).rejects.toBeInstanceOf(InvalidInputError);
      await replaceDays(t.db, []);
    });

    it("writes more rows than one INSERT holds", async () => {
      const days = Array.from({ length: 1800 }, (_, i) => ({
        ...summary("s-many", 100 + i, i),
        items: Array.from({ length: 4 }, (_, k) => ({
          type: SummaryItemType.project,
          key: `p${k}`,
          total: k,
        })),
      }));
      await replaceDays(t.db, days);
      const stored = await listSummaries(t.db, "s-many", T0 + 100 * DAY, T0 + 1900 * DAY);
      expect(stored).toHaveLength(1800);
      expect(stored.every((s, i) => s.numHeartbeats === i && s.items.length === 4)).toBe(true);
    });

    it("replaces thousands of non-adjacent days and leaves the days between alone", async () => {
      const every = (n: number, offset: number, heartbeats: number) =>
        Array.from({ length: n }, (_, i) => ({
          ...summary("s-many", 2000 + 2 * i + offset, heartbeats),
          items: [],
        }));
      await replaceDays(t.db, [...every(2500, 0, 1), ...every(2500, 1, 1)]);
      await replaceDays(t.db, every(2500, 0, 2)); // 2500 separate ranges: several DELETE chunks
      const stored = await listSummaries(t.db, "s-many", T0 + 2000 * DAY, T0 + 7000 * DAY);
      expect(stored).toHaveLength(5000);
      expect(stored.every((s, i) => s.numHeartbeats === (i % 2 === 0 ? 2 : 1))).toBe(true);
    });

    it("refuses an older fencing token after a newer one, and writes nothing", async () => {
      await replaceDay(t.db, summary("s-fence", 0, 1), { fence: { token: 5, holder: "a" } });
      await replaceDay(t.db, summary("s-fence", 0, 2), { fence: { token: 5, holder: "a" } }); // same lease: a retry
      await replaceDay(t.db, summary("s-fence", 0, 3), { fence: { token: 7n, holder: "b" } });
      const refused = await replaceDay(t.db, summary("s-fence", 0, 99), {
        fence: { token: 6, holder: "a" },
      }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(FencedOutError);
      expect(refused).toMatchObject({ code: "LEASE_LOST", userId: "s-fence", token: "6", currentToken: "7" });
      // Same token, another holder: also refused.
      await expect(
        replaceDay(t.db, summary("s-fence", 0, 98), { fence: { token: 7, holder: "c" } }),
      ).rejects.toBeInstanceOf(FencedOutError);
      const [day] = await listSummaries(t.db, "s-fence", T0, T0 + DAY);
      expect(day?.numHeartbeats).toBe(3);

      await claimFence(t.db, "s-fence", 8, "c");
      await expect(claimFence(t.db, "s-fence", 7, "b")).rejects.toMatchObject({ code: "LEASE_LOST" });
      const big = 2n ** 62n;
      await claimFence(t.db, "s-fence", big, "d");
      const fence = await t.db
        .selectFrom("agg_user_fences")
        .selectAll()
        .where("user_id", "=", "s-fence")
        .executeTakeFirst();
      expect(fence).toMatchObject({ token: big, holder: "d" });
    });

    it("replaces several users' days in one transaction, leaving out only a fenced-out user", async () => {
      for (const id of ["m-a", "m-b", "m-c"]) await insertUser(t.db, id);
      await replaceDays(t.db, [summary("m-b", 0, 1)], { fence: { token: 9, holder: "newer" } });
      const results = await replaceUsersDays(t.db, [
        { days: [summary("m-c", 0, 3), summary("m-c", 1, 4)], fence: { token: 1, holder: "x" } },
        { days: [summary("m-b", 0, 50)], fence: { token: 8, holder: "older" } },
        { days: [] },
        { days: [summary("m-a", 2, 5)] },
      ]);
      expect(results.map((r) => r?.code ?? null)).toEqual([null, "LEASE_LOST", null, null]);
      expect(results[1]).toMatchObject({
        userId: "m-b",
        token: "8",
        currentToken: "9",
        currentHolder: "newer",
      });
      const heartbeats = async (id: string) =>
        (await listSummaries(t.db, id, T0, T0 + 10 * DAY)).map((d) => d.numHeartbeats);
      expect(await heartbeats("m-a")).toEqual([5]);
      expect(await heartbeats("m-b")).toEqual([1]);
      expect(await heartbeats("m-c")).toEqual([3, 4]);
      await expect(
        replaceUsersDays(t.db, [{ days: [summary("m-a", 0, 1)] }, { days: [summary("m-a", 1, 1)] }]),
      ).rejects.toThrow(InvalidInputError);
    });

    it("keeps one row per day under concurrent multi-user writers of overlapping users (no deadlock)", async () => {
      const users = ["w-1", "w-2", "w-3", "w-4", "w-5"];
      for (const id of users) await insertUser(t.db, id);
      await Promise.all(
        Array.from({ length: 8 }, (_, k) =>
          replaceUsersDays(
            t.db,
            // Each writer takes its own rotation of the users: the store orders the locks.
            users.map((_, i) => ({
              days: [
                summary(users[(i + k) % users.length]!, 0, k),
                summary(users[(i + k) % users.length]!, 1, k),
              ],
            })),
          ),
        ),
      );
      for (const id of users) {
        const days = await listSummaries(t.db, id, T0, T0 + 10 * DAY);
        expect(days).toHaveLength(2);
        expect(days.every((d) => d.items.length === 3)).toBe(true);
      }
    });
  });
});
