import { resolve } from "node:path";
import { type AggDatabase, DEFAULT_PGLITE_DIR, openDatabase } from "@agg/store";
import type { CliIo } from "./command";

/**
 * The database the CLI works on: PostgreSQL at `DATABASE_URL` when it is set,
 * else the engine's embedded PGlite store (see {@link pgliteDir}).
 * @throws {DatabaseUnavailableError}
 */
export function openStore(io: CliIo): Promise<AggDatabase> {
  const url = io.env.DATABASE_URL;
  return url ? openDatabase({ url, poolSize: 2 }) : openDatabase({ dataDir: pgliteDir(io) });
}

/**
 * Where the engine keeps its embedded store, as `pnpm start` does:
 * `<AGG_DATA_DIR>/pglite` when `AGG_DATA_DIR` is set, else `./data/pglite`,
 * relative to the working directory (the repository root).
 */
export function pgliteDir(io: CliIo): string {
  const dataDir = io.env.AGG_DATA_DIR?.trim();
  return dataDir ? resolve(io.cwd, dataDir, "pglite") : resolve(io.cwd, DEFAULT_PGLITE_DIR);
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
