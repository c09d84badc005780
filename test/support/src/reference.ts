/**
 * A deliberately naive, independent implementation of SEMANTICS.md, used by the
 * end-to-end tests as the oracle for what the engine writes. It shares no code
 * with packages/core: days come from formatting every heartbeat's instant in the
 * user's zone, and everything is sorted and grouped the obvious way.
 */

export interface RefUser {
  id: string;
  location: string | null;
  timeoutSec: number | null;
  excludeUnknownProjects: boolean | null;
  mappings: { extension: string; language: string }[];
}

export interface RefHeartbeat {
  id: number;
  userId: string;
  time: number;
  entity: string;
  project: string | null;
  language: string | null;
  editor: string | null;
  operatingSystem: string | null;
  machine: string | null;
  category: string | null;
}

/** `day -> { numHeartbeats, items: "type|key" -> seconds }` */
export type RefDays = Map<string, { numHeartbeats: number; items: Map<string, number> }>;

function zoneOf(location: string | null): string {
  if (!location) return "UTC";
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: location });
    return location;
  } catch {
    return "UTC";
  }
}

export function refLocalDay(ms: number, zone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

function refExtension(entity: string): string | null {
  const base = entity.split(/[/\\]/).pop() ?? "";
  const parts = base.split(".");
  if (parts.length < 2) return null;
  const tail = parts.slice(1);
  return tail.slice(-2).join(".");
}

function refLanguage(user: RefUser, hb: RefHeartbeat): string | null {
  const ext = refExtension(hb.entity);
  if (ext === null) return hb.language;
  let best: { extension: string; language: string } | null = null;
  for (const m of user.mappings) {
    if (`.${ext}`.endsWith(`.${m.extension}`)) {
      const dots = (s: string) => s.split(".").length;
      if (!best || dots(m.extension) > dots(best.extension)) best = m;
    }
  }
  return best ? best.language : hb.language;
}

/** Summaries of every day on which the user has heartbeats, restricted to `days` if given. */
export function referenceSummaries(user: RefUser, heartbeats: RefHeartbeat[]): RefDays {
  const zone = zoneOf(user.location);
  const timeoutMs = user.timeoutSec && user.timeoutSec > 0 ? user.timeoutSec * 1000 : 600_000;
  const sorted = heartbeats
    .filter((h) => h.userId === user.id)
    .sort((a, b) => a.time - b.time || a.id - b.id);
  const byDay = new Map<string, RefHeartbeat[]>();
  for (const h of sorted) {
    const day = refLocalDay(h.time, zone);
    if (!byDay.has(day)) byDay.set(day, []);
    byDay.get(day)!.push(h);
  }
  const out: RefDays = new Map();
  for (const [day, hbs] of byDay) {
    const ms = new Map<string, number>();
    let count = 0;
    hbs.forEach((h, i) => {
      const next = hbs[i + 1];
      const gap = next ? next.time - h.time : 0;
      const credit = next && gap < timeoutMs ? gap : 0;
      if (user.excludeUnknownProjects && !h.project) return;
      count++;
      const lang = refLanguage(user, h);
      const attrs: [number, string | null][] = [
        [0, h.project],
        [1, lang],
        [2, h.editor],
        [3, h.operatingSystem],
        [4, h.machine],
        [8, h.category],
      ];
      for (const [type, key] of attrs) {
        const k = `${type}|${key ? key : "unknown"}`;
        ms.set(k, (ms.get(k) ?? 0) + credit);
      }
    });
    const items = new Map<string, number>();
    for (const [k, v] of ms) if (Math.floor(v / 1000) > 0) items.set(k, Math.floor(v / 1000));
    out.set(day, { numHeartbeats: count, items });
  }
  return out;
}
