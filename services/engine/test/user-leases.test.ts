/**
 * User leases on a real PostgreSQL: one holder per user across instances,
 * a tenure (fencing token) per lease, and a lease taken over is noticed.
 */
import { type AggDatabase, migrateToLatest } from "@agg/store";
import { openTestPostgres } from "@agg/test-support";
import { sql } from "kysely";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserLeases } from "../src/user-leases";

const log = pino({ level: "silent" });
const GROUPING = { maxGroup: 8, maxInFlight: 1 };

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("UserLeases", () => {
  let store: AggDatabase;
  const open: UserLeases[] = [];
  const leases = (holder: string, ttlMs = 10_000) => {
    const l = new UserLeases({ db: store.db, holder, ttlMs, grouping: GROUPING, log });
    open.push(l);
    return l;
  };

  beforeAll(async () => {
    store = await openTestPostgres();
    await migrateToLatest(store.db);
  });
  afterAll(async () => {
    for (const l of open) await l.close();
    await store?.close();
  });

  it("grants concurrent acquisitions once each, and refuses another holder until released", async () => {
    const a = leases("a");
    const b = leases("b");
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const taken = await Promise.all(ids.map((id) => a.tryAcquire(id, () => undefined)));
    expect(taken.map((l) => l?.token)).toEqual(ids.map(() => 1n));
    expect(a.count).toBe(20);
    expect(await b.tryAcquire("c0", () => undefined)).toBeNull();
    await a.release(taken[0]!);
    expect(a.count).toBe(19);
    const next = await b.tryAcquire("c0", () => undefined);
    expect(next?.token).toBe(2n);
    expect(next?.held).toBe(true);
  });

  it("notices at the next renewal that another holder took a lease that had expired", async () => {
    const a = leases("a2", 300);
    const b = leases("b2");
    let lost = 0;
    const lease = await a.tryAcquire("r1", () => lost++);
    expect(lease?.token).toBe(1n);
    // PostgreSQL's clock says the lease is over (a paused holder), and b takes it.
    await sql`update agg_user_fences set lease_until = now() - interval '1 second' where user_id = 'r1'`.execute(
      store.db,
    );
    expect((await b.tryAcquire("r1", () => undefined))?.token).toBe(2n);
    await until(() => lost === 1);
    expect(lease?.held).toBe(false);
    expect(a.count).toBe(0);
  });

  it("takes a user again at once after its own release, even while that release is queued", async () => {
    const a = new UserLeases({
      db: store.db,
      holder: "a4",
      ttlMs: 10_000,
      grouping: { maxGroup: 8, maxInFlight: 1 },
      log,
    });
    open.push(a);
    const blocker = await a.tryAcquire("q-blocker", () => undefined);
    const lease = await a.tryAcquire("q1", () => undefined);
    let granted: bigint | undefined;
    await store.db.transaction().execute(async (trx) => {
      // Hold the blocker's row: its release stays in flight, and q1's release queues behind it.
      await sql`select 1 from agg_user_fences where user_id = 'q-blocker' for update`.execute(trx);
      void a.release(blocker!);
      await new Promise((r) => setImmediate(r));
      void a.release(lease!);
      const again = a
        .tryAcquire("q1", () => undefined)
        .then((l) => {
          granted = l?.token;
        });
      await new Promise((r) => setTimeout(r, 200));
      expect(granted).toBeUndefined();
      void again;
    });
    await until(() => granted !== undefined);
    expect(granted).toBe(2n);
  });

  it("keeps a renewed lease beyond its first lifetime", async () => {
    const a = leases("a3", 300);
    let lost = 0;
    const lease = await a.tryAcquire("k1", () => lost++);
    await new Promise((r) => setTimeout(r, 900));
    expect(lost).toBe(0);
    expect(lease?.held).toBe(true);
    expect(lease!.validUntil).toBeGreaterThan(Date.now());
    expect(await leases("b3").tryAcquire("k1", () => undefined)).toBeNull();
  });
});
