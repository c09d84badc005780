import { type AggDatabase, type Database, migrateToLatest } from "@agg/store";
import { openTestPglite, openTestPostgres } from "@agg/test-support";
import type { Kysely } from "kysely";

/** A migrated store of one kind, and how to throw it away. */
export interface TestStore {
  readonly store: AggDatabase;
  readonly db: Kysely<Database>;
  dispose(): Promise<void>;
}

/** The two engines every repository test runs against. */
export const storeFactories: { kind: string; open: () => Promise<TestStore> }[] = [
  {
    kind: "postgres",
    open: async () => {
      const store = await openTestPostgres({ poolSize: 12 });
      await migrateToLatest(store.db);
      return { store, db: store.db, dispose: () => store.close() };
    },
  },
  {
    kind: "pglite",
    open: async () => {
      const store = await openTestPglite();
      await migrateToLatest(store.db);
      return { store, db: store.db, dispose: () => store.close() };
    },
  },
];

/** Inserts a user row. */
export async function insertUser(
  db: Kysely<Database>,
  id: string,
  opts: { location?: string | null; timeoutSec?: number | null; excludeUnknown?: boolean | null } = {},
): Promise<void> {
  await db
    .insertInto("users")
    .values({
      id,
      location: opts.location ?? null,
      heartbeats_timeout_sec: opts.timeoutSec === undefined ? null : opts.timeoutSec,
      exclude_unknown_projects: opts.excludeUnknown ?? null,
    })
    .execute();
}

/** A heartbeat row as tests write it. */
export interface TestHeartbeat {
  readonly id?: number;
  readonly time: number;
  readonly project?: string | null;
  readonly editor?: string | null;
  readonly entity?: string;
}

/** Inserts heartbeats (in chunks) for one user. */
export async function insertHeartbeats(
  db: Kysely<Database>,
  userId: string,
  heartbeats: readonly TestHeartbeat[],
): Promise<void> {
  for (let i = 0; i < heartbeats.length; i += 2000) {
    await db
      .insertInto("heartbeats")
      .values(
        heartbeats.slice(i, i + 2000).map((h) => ({
          ...(h.id !== undefined ? { id: h.id } : {}),
          user_id: userId,
          entity: h.entity ?? "src/main.go",
          project: h.project ?? "agg",
          editor: h.editor ?? "vscode",
          language: "Go",
          time: new Date(h.time),
          created_at: new Date(h.time),
        })),
      )
      .execute();
  }
}
