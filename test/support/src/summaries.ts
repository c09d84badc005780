import pg from "pg";
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
  url: string,
  zones: Map<string, string>,
): Promise<{ days: Map<string, StoredDay>; duplicates: string[]; rows: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const summaries = await client.query<{
      id: string;
      user_id: string;
      from_time: Date;
      to_time: Date;
      num_heartbeats: string;
    }>("select id, user_id, from_time, to_time, num_heartbeats from summaries");
    const items = await client.query<{ summary_id: string; type: number; key: string; total: string }>(
      "select summary_id, type, key, total from summary_items",
    );
    const itemsBySummary = new Map<string, Map<string, number>>();
    for (const i of items.rows) {
      if (!itemsBySummary.has(i.summary_id)) itemsBySummary.set(i.summary_id, new Map());
      const total = Number(i.total);
      if (total > 0) itemsBySummary.get(i.summary_id)!.set(`${i.type}|${i.key}`, total);
    }
    const days = new Map<string, StoredDay>();
    const duplicates: string[] = [];
    for (const s of summaries.rows) {
      const zone = zones.get(s.user_id) ?? "UTC";
      const day = refLocalDay(s.from_time.getTime(), zone);
      const key = `${s.user_id}|${day}`;
      if (days.has(key)) duplicates.push(key);
      days.set(key, {
        userId: s.user_id,
        day,
        fromTime: s.from_time.getTime(),
        toTime: s.to_time.getTime(),
        numHeartbeats: Number(s.num_heartbeats),
        items: itemsBySummary.get(s.id) ?? new Map(),
      });
    }
    return { days, duplicates, rows: summaries.rowCount ?? 0 };
  } finally {
    await client.end();
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
 * Compares stored summaries with the reference for each user's days from
 * `firstDay` (default: day of the first heartbeat) through the user's yesterday.
 * Returns human-readable mismatches (empty when exact).
 */
export function compareWithReference(
  users: RefUser[],
  heartbeats: RefHeartbeat[],
  stored: Map<string, StoredDay>,
  nowMs = Date.now(),
): string[] {
  const problems: string[] = [];
  for (const u of users) {
    const zone = effectiveZone(u.location);
    const mine = heartbeats.filter((h) => h.userId === u.id);
    if (mine.length === 0) continue;
    const ref: RefDays = referenceSummaries(u, mine);
    const first = refLocalDay(Math.min(...mine.map((h) => h.time)), zone);
    const yesterday = addDaysIso(refLocalDay(nowMs, zone), -1);
    for (let day = first; day <= yesterday; day = addDaysIso(day, 1)) {
      const got = stored.get(`${u.id}|${day}`);
      const want = ref.get(day) ?? { numHeartbeats: 0, items: new Map<string, number>() };
      if (!got) {
        problems.push(`${u.id} ${day}: missing summary`);
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
