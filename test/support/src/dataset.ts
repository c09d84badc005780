import { type Database, openDatabase } from "@agg/store";
import { type Kysely, sql } from "kysely";
import type { RefHeartbeat, RefUser } from "./reference";

/** A small, fast, seeded PRNG (mulberry32), so a failing data set can be regenerated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ZONES = [
  "UTC",
  "Europe/Berlin",
  "America/New_York",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Pacific/Chatham",
  "Australia/Lord_Howe",
  "America/Los_Angeles",
  "Not/AZone",
  "",
];
const PROJECTS = ["wakapi", "agg", "dotfiles", "", null, "blog"];
const LANGS = ["Go", "TypeScript", "Python", null, "Markdown"];
const EDITORS = ["vscode", "GoLand", "neovim", null];
const OSES = ["Linux", "macOS", "Windows", ""];
const MACHINES = ["laptop", "desktop", null];
const CATEGORIES = ["coding", "debugging", null];
const ENTITIES = [
  "src/main.go",
  "app.test.js",
  "/home/u/.bashrc",
  "a.b.c.d",
  "README.md",
  "C:\\x\\y.tsx",
  "noext",
];

export interface DatasetOptions {
  users: number;
  days: number;
  seed: number;
  /** Epoch ms of "now"; heartbeats end before it. */
  nowMs?: number;
  /** Heartbeats per user per active day, roughly. */
  perDay?: number;
}

export interface Dataset {
  users: RefUser[];
  heartbeats: RefHeartbeat[];
}

/** Generates users and heartbeats with sessions, breaks, duplicates and midnight/timeout edges. */
export function generateDataset(opts: DatasetOptions): Dataset {
  const rnd = seededRandom(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const now = opts.nowMs ?? Date.now();
  const users: RefUser[] = [];
  const heartbeats: RefHeartbeat[] = [];
  let id = 1;
  for (let u = 0; u < opts.users; u++) {
    const timeoutSec = pick([null, 0, 60, 120, 600, 900]);
    const user: RefUser = {
      id: `user-${opts.seed}-${u}`,
      location: ZONES[u % ZONES.length]!,
      timeoutSec,
      excludeUnknownProjects: pick([null, false, true]),
      mappings:
        rnd() < 0.4
          ? [
              { extension: "go", language: "Golang" },
              { extension: "test.js", language: "JS Tests" },
            ]
          : [],
    };
    users.push(user);
    const timeoutMs = timeoutSec && timeoutSec > 0 ? timeoutSec * 1000 : 600_000;
    let t = now - opts.days * 86_400_000 - Math.floor(rnd() * 3_600_000);
    const end = now - 60_000;
    const perDay = opts.perDay ?? 40;
    while (t < end) {
      // A session: heartbeats at gaps around the timeout, sometimes exactly at it.
      const n = 1 + Math.floor(rnd() * perDay);
      for (let i = 0; i < n && t < end; i++) {
        heartbeats.push({
          id: id++,
          userId: user.id,
          time: t,
          entity: pick(ENTITIES),
          project: pick(PROJECTS),
          language: pick(LANGS),
          editor: pick(EDITORS),
          operatingSystem: pick(OSES),
          machine: pick(MACHINES),
          category: pick(CATEGORIES),
        });
        if (rnd() < 0.05) {
          // A duplicate at the same instant.
          heartbeats.push({ ...heartbeats[heartbeats.length - 1]!, id: id++ });
        }
        const r = rnd();
        t += r < 0.05 ? timeoutMs : r < 0.1 ? timeoutMs - 1 : Math.floor(rnd() * timeoutMs * 0.8) + 1;
      }
      // A break: minutes to a day.
      t += Math.floor(rnd() * 20 * 3_600_000) + timeoutMs;
    }
  }
  return { users, heartbeats };
}

/** Inserts a data set into a database that already has the schema (PostgreSQL URL or any Kysely store). */
export async function insertDataset(target: string | Kysely<Database>, data: Dataset): Promise<void> {
  const store = typeof target === "string" ? await openDatabase({ url: target, poolSize: 1 }) : undefined;
  const db = store?.db ?? (target as Kysely<Database>);
  try {
    const CHUNK = 1000;
    for (let i = 0; i < data.users.length; i += CHUNK) {
      await db
        .insertInto("users")
        .values(
          data.users.slice(i, i + CHUNK).map((u) => ({
            id: u.id,
            location: u.location,
            heartbeats_timeout_sec: u.timeoutSec,
            exclude_unknown_projects: u.excludeUnknownProjects,
          })),
        )
        .execute();
    }
    const mappings = data.users.flatMap((u) =>
      u.mappings.map((m) => ({ user_id: u.id, extension: m.extension, language: m.language })),
    );
    if (mappings.length > 0) await db.insertInto("language_mappings").values(mappings).execute();
    await insertHeartbeats(db, data.heartbeats);
  } finally {
    await store?.close();
  }
}

/** Multi-row inserts of heartbeats (explicit ids keep the (time, id) order of the data set). */
export async function insertHeartbeats(
  db: Kysely<Database>,
  heartbeats: readonly RefHeartbeat[],
): Promise<void> {
  const CHUNK = 1000;
  for (let i = 0; i < heartbeats.length; i += CHUNK) {
    await db
      .insertInto("heartbeats")
      .values(
        heartbeats.slice(i, i + CHUNK).map((h) => ({
          id: h.id,
          user_id: h.userId,
          entity: h.entity,
          project: h.project,
          language: h.language,
          editor: h.editor,
          operating_system: h.operatingSystem,
          machine: h.machine,
          category: h.category,
          time: new Date(h.time),
          hash: `h${h.id}`,
          created_at: new Date(),
        })),
      )
      .execute();
  }
  // Keep the sequence ahead of explicit ids so later inserts do not collide.
  await sql`select setval(pg_get_serial_sequence('heartbeats', 'id'), greatest((select max(id) from heartbeats), 1))`.execute(
    db,
  );
}
