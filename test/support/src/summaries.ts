import type { DaySummary, SummaryItem } from "@agg/core";
import { type Database, openDatabase } from "@agg/store";
import type { Kysely } from "kysely";
import { type RefDays, type RefHeartbeat, type RefUser, referenceSummaries, refLocalDay } from "./reference";

export interface StoredDay {
  userId: string;
  day: string;
  fromTime: number;
  toTime: number;
  numHeartbeats: number;
  items: Map<string, number>;
}

/** Every stored summary of the database, keyed `userId|day`, with duplicates reported. */
export async function readStoredSummaries(
  target: string | Kysely<Database>,
  zones: Map<string, string>,
): Promise<{ days: Map<string, StoredDay>; duplicates: string[]; rows: number }> {
  const store = typeof target === "string" ? await openDatabase({ url: target, poolSize: 1 }) : undefined;
  const db = store?.db ?? (target as Kysely<Database>);
  try {
    const summaries = await db
      .selectFrom("summaries")
      .select(["id", "user_id", "from_time", "to_time", "num_heartbeats"])
      .execute();
    const items = await db
      .selectFrom("summary_items")
      .select(["summary_id", "type", "key", "total"])
      .execute();
    const itemsBySummary = new Map<string, Map<string, number>>();
    for (const i of items) {
      const sid = String(i.summary_id);
      if (!itemsBySummary.has(sid)) itemsBySummary.set(sid, new Map());
      const total = Number(i.total);
      if (total > 0) itemsBySummary.get(sid)!.set(`${i.type}|${i.key}`, total);
    }
    const days = new Map<string, StoredDay>();
    const duplicates: string[] = [];
    for (const s of summaries) {
      const zone = zones.get(s.user_id) ?? "UTC";
      const fromTime = new Date(s.from_time as unknown as string | Date).getTime();
      const day = refLocalDay(fromTime, zone);
      const key = `${s.user_id}|${day}`;
      if (days.has(key)) duplicates.push(key);
      days.set(key, {
        userId: s.user_id,
        day,
        fromTime,
        toTime: new Date(s.to_time as unknown as string | Date).getTime(),
        numHeartbeats: Number(s.num_heartbeats),
        items: itemsBySummary.get(String(s.id)) ?? new Map(),
      });
    }
    return { days, duplicates, rows: summaries.length };
  } finally {
    await store?.close();
  }
}

/** The zone the engine must use for a user (unknown or empty -> UTC). */
export function effectiveZone(location: string | null): string {
  if (!location) return "UTC";
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: location });
    return location;
  } catch {
    return "UTC";
  }
}

/**
 * When this module was loaded: before any request of the test file using it
 * was sent (vitest loads it afresh per file; a worker that ran several files
 * would only make the bound earlier, which tolerates more, never less).
 */
const loadedAtMs = Date.now();

/** When the days a comparison expects were planned, see {@link compareWithReference}. */
export interface ReferenceWindow {
  /** The comparison's "now" (default: `Date.now()`): no day from this one's today on may be stored. */
  readonly nowMs?: number;
  /**
   * No later than the request (default: when this module was loaded). The engine
   * plans "up to yesterday" at some instant between the request and the batch's
   * end, so a day that became some zone's yesterday after this instant may be
   * missing; if it is stored, it must still be exact.
   */
  readonly requestedAtMs?: number;
}

/**
 * Compares stored summaries with the reference for each user's days from
 * `firstDay` (default: day of the first heartbeat) through the user's yesterday.
 * A local midnight between the request and the comparison (a test that ran
 * across the top of an hour, in a zone where that hour is midnight) makes the
 * day it ended optional (see {@link ReferenceWindow}).
 * Returns human-readable mismatches (empty when exact).
 */
export function compareWithReference(
  users: RefUser[],
  heartbeats: RefHeartbeat[],
  stored: Map<string, StoredDay>,
  window: ReferenceWindow = {},
): string[] {
  const nowMs = window.nowMs ?? Date.now();
  const requestedAtMs = Math.min(window.requestedAtMs ?? loadedAtMs, nowMs);
  const problems: string[] = [];
  for (const u of users) {
    const zone = effectiveZone(u.location);
    const mine = heartbeats.filter((h) => h.userId === u.id);
    if (mine.length === 0) continue;
    const ref: RefDays = referenceSummaries(u, mine);
    const first = refLocalDay(Math.min(...mine.map((h) => h.time)), zone);
    const yesterday = addDaysIso(refLocalDay(nowMs, zone), -1);
    const surelyPlanned = addDaysIso(refLocalDay(requestedAtMs, zone), -1);
    for (let day = first; day <= yesterday; day = addDaysIso(day, 1)) {
      const got = stored.get(`${u.id}|${day}`);
      const want = ref.get(day) ?? { numHeartbeats: 0, items: new Map<string, number>() };
      if (!got) {
        if (day <= surelyPlanned) problems.push(`${u.id} ${day}: missing summary`);
        continue;
      }
      if (got.numHeartbeats !== want.numHeartbeats) {
        problems.push(`${u.id} ${day}: num_heartbeats ${got.numHeartbeats} != ${want.numHeartbeats}`);
      }
      const keys = new Set([...got.items.keys(), ...want.items.keys()]);
      for (const k of keys) {
        if ((got.items.get(k) ?? 0) !== (want.items.get(k) ?? 0)) {
          problems.push(`${u.id} ${day} ${k}: ${got.items.get(k) ?? 0} != ${want.items.get(k) ?? 0}`);
        }
      }
    }
    const today = refLocalDay(nowMs, zone);
    if (stored.has(`${u.id}|${today}`)) problems.push(`${u.id} ${today}: today was summarised`);
  }
  return problems;
}

export function addDaysIso(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

const DAY_MS = 86_400_000;

/** A summary of the UTC day starting at `fromTime` (epoch ms at a UTC midnight), for store tests. */
export function utcDaySummary(
  userId: string,
  fromTime: number,
  numHeartbeats: number,
  items: readonly SummaryItem[],
): DaySummary {
  return {
    userId,
    day: new Date(fromTime).toISOString().slice(0, 10),
    fromTime,
    toTime: fromTime + DAY_MS,
    numHeartbeats,
    items: [...items],
  };
}
