import { resolve } from "node:path";
import type { AggDatabase } from "@agg/store";
import type { CliIo } from "./command";

/**
 * The store package, loaded on first use. Its drivers (Kysely, pg, PGlite)
 * take about 0.3 s to load, which commands that only talk to the engine over
 * NATS (`request`, `status`, `inspect`) and `--help` should not pay.
 */
export function storeModule(): Promise<typeof import("@agg/store")> {
  return import("@agg/store");
}

/**
 * The database the CLI works on: PostgreSQL at `DATABASE_URL` when it is set,
 * else the engine's embedded PGlite store (see {@link pgliteDir}).
 * @throws {DatabaseUnavailableError}
 */
export async function openStore(io: CliIo): Promise<AggDatabase> {
  const { openDatabase } = await storeModule();
  const url = io.env.DATABASE_URL;
  return url ? openDatabase({ url, poolSize: 2 }) : openDatabase({ dataDir: await pgliteDir(io) });
}

/**
 * Where the engine keeps its embedded store, as `pnpm start` does:
 * `<AGG_DATA_DIR>/pglite` when `AGG_DATA_DIR` is set, else `./data/pglite`,
 * relative to the working directory (the repository root).
 */
export async function pgliteDir(io: CliIo): Promise<string> {
  const dataDir = io.env.AGG_DATA_DIR?.trim();
  if (dataDir) return resolve(io.cwd, dataDir, "pglite");
  const { DEFAULT_PGLITE_DIR } = await storeModule();
  return resolve(io.cwd, DEFAULT_PGLITE_DIR);
}

/** Runs `fn` with the store open, and closes it whatever happens. */
export async function withStore<T>(io: CliIo, fn: (store: AggDatabase) => Promise<T>): Promise<T> {
  const store = await openStore(io);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
