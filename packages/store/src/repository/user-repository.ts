import { resolveUserSettings, type UserSettings } from "@agg/core";
import type { Kysely } from "kysely";
import type { Database } from "../schema";

/** Ids per `in (...)` list, well under PostgreSQL's 65 535 bind parameters. */
const IDS_PER_QUERY = 10_000;

/** Every user id, sorted. */
export async function listUserIds(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom("users").select("id").orderBy("id").execute();
  return rows.map((r) => r.id);
}

/**
 * Which of `ids` exist as users.
 *
 * @example
 * ```ts
 * const known = await findKnownUsers(db, ["alice", "nobody"]); // Set { "alice" }
 * ```
 */
export async function findKnownUsers(db: Kysely<Database>, ids: Iterable<string>): Promise<Set<string>> {
  const wanted = [...new Set(ids)];
  const known = new Set<string>();
  for (let i = 0; i < wanted.length; i += IDS_PER_QUERY) {
    const rows = await db
      .selectFrom("users")
      .select("id")
      .where("id", "in", wanted.slice(i, i + IDS_PER_QUERY))
      .execute();
    for (const r of rows) known.add(r.id);
  }
  return known;
}

/**
 * What changes how a user's heartbeats are credited, already resolved:
 * unknown/empty `location` -> `UTC`, NULL or <= 0 timeout -> 600 s,
 * NULL `exclude_unknown_projects` -> false, plus the user's language mappings
 * (rows with an empty extension or language are ignored).
 *
 * @returns null when the user does not exist.
 */
export async function loadUserSettings(db: Kysely<Database>, userId: string): Promise<UserSettings | null> {
  const user = await db
    .selectFrom("users")
    .select(["location", "heartbeats_timeout_sec", "exclude_unknown_projects"])
    .where("id", "=", userId)
    .executeTakeFirst();
  if (!user) return null;
  // In id order: of two rows for one extension, the later one wins (as the core expects).
  const mappings = await db
    .selectFrom("language_mappings")
    .select(["extension", "language"])
    .where("user_id", "=", userId)
    .orderBy("id")
    .execute();
  return resolveUserSettings({
    userId,
    location: user.location,
    heartbeatsTimeoutSec: user.heartbeats_timeout_sec,
    excludeUnknownProjects: user.exclude_unknown_projects,
    languageMappings: mappings.flatMap((m) =>
      m.extension && m.language ? [{ extension: m.extension, language: m.language }] : [],
    ),
  });
}
