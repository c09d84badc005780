import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { DatabaseUnavailableError } from "./database-unavailable-error";
import { describeDatabaseAddress, parseDatabaseUrl, redactDatabaseUrl } from "./database-url";
import { ConnectionMutex } from "./dialect/connection-mutex";
import { DataDirLock } from "./dialect/data-dir-lock";
import { PGliteDialect } from "./dialect/pglite-dialect";
import { INT8_OID, parseInt8 } from "./int8";
import type { Database } from "./schema";

/** Which engine is behind an `AggDatabase`. */
export type DatabaseKind = "postgres" | "pglite";

/** An open database: the Kysely instance, what it runs on, and how to close it. */
export interface AggDatabase {
  readonly db: Kysely<Database>;
  /**
   * The same database on a lane of its own, for the few statements that keep
   * a process's claims alive (lease renewals): they must not queue behind the
   * data work that fills `db`'s pool. PostgreSQL: a second, small pool
   * (`controlPoolSize`; it connects on first use). PGlite: the one session,
   * taken before ordinary waiters.
   */
  readonly control: Kysely<Database>;
  readonly kind: DatabaseKind;
  /** How many sessions `db` can hold at once: the pool's size, or PGlite's one. */
  readonly connections: number;
  /** Human name of the place: `host:port/db` or the PGlite directory (never a password). */
  readonly location: string;
  /** Ends the pool (or closes PGlite and releases its directory). Idempotent. */
  close(): Promise<void>;
}

/** Where to open the database. */
export interface OpenDatabaseOptions {
  /** A `postgres://` URL. Set: PostgreSQL through `pg`. Unset or empty: embedded PGlite. */
  readonly url?: string | undefined;
  /** PGlite's data directory (created if missing). Default `./data/pglite`. */
  readonly dataDir?: string | undefined;
  /** Most connections the `pg` pool opens. Default 10. */
  readonly poolSize?: number | undefined;
  /** Most connections of the `control` lane's pool (PostgreSQL). Default 2. */
  readonly controlPoolSize?: number | undefined;
  /** How long to wait for a PostgreSQL connection, in ms. Default 10 000. */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Keep pooled PostgreSQL connections open while idle (a long-running engine),
   * with TCP keepalive so a connection that died unseen is noticed. Default
   * false: `pg` closes a connection idle for 10 s. An engine's nightly run comes
   * after hours of quiet, and opening its connections again (a backend start
   * each, with cold catalog caches) made it about a quarter slower.
   */
  readonly keepConnections?: boolean | undefined;
}

/** PGlite's data directory when none is given, relative to the working directory. */
export const DEFAULT_PGLITE_DIR = "./data/pglite";

/**
 * Opens the engine's database: PostgreSQL when `url` is set (checked with one
 * connection before returning), else an embedded PGlite in `dataDir`.
 * Does not migrate: call `migrateToLatest` for that.
 *
 * @throws {DatabaseUnavailableError} malformed URL, unreachable server, refused
 *   login, missing database, or a PGlite directory another process holds.
 *
 * @example
 * ```ts
 * const store = await openDatabase({ url: process.env.DATABASE_URL });
 * try { await migrateToLatest(store.db); } finally { await store.close(); }
 * ```
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<AggDatabase> {
  return options.url ? openPostgres(options.url, options) : openPglite(options.dataDir ?? DEFAULT_PGLITE_DIR);
}

const pgTypes = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary"
      ? parseInt8
      : pg.types.getTypeParser(oid, format ?? "text")) as typeof pg.types.getTypeParser,
};

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<AggDatabase> {
  const address = parseDatabaseUrl(url);
  const location = describeDatabaseAddress(address);
  const newPool = (max: number) => {
    const pool = new pg.Pool({
      connectionString: url,
      max,
      ...(options.keepConnections
        ? { idleTimeoutMillis: 0, keepAlive: true, keepAliveInitialDelayMillis: 30_000 }
        : {}),
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      types: pgTypes,
    });
    // An idle client whose server went away emits 'error' on the pool; without a
    // listener that would crash the process. The next query reports the problem.
    pool.on("error", () => {});
    return pool;
  };
  const connections = options.poolSize ?? 10;
  const pool = newPool(connections);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => {});
    throw new DatabaseUnavailableError(
      `cannot use PostgreSQL at ${location}: ${describeConnectError(error, url)}`,
      { cause: error },
    );
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const control = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: newPool(options.controlPoolSize ?? 2) }),
  });
  let closed: Promise<void> | undefined;
  return {
    db,
    control,
    kind: "postgres",
    connections,
    location,
    close: () => {
      closed ??= Promise.all([control.destroy(), db.destroy()]).then(() => undefined);
      return closed;
    },
  };
}

async function openPglite(dataDir: string): Promise<AggDatabase> {
  const dir = resolve(dataDir);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new DatabaseUnavailableError(
      `cannot create the embedded database directory ${dataDir}: ${message(error)}`,
      {
        cause: error,
      },
    );
  }
  const lock = DataDirLock.acquire(dir);
  let pglite: PGlite;
  try {
    pglite = new PGlite(dir, { parsers: { [INT8_OID]: parseInt8 } });
    await pglite.waitReady;
  } catch (error) {
    lock.release();
    throw new DatabaseUnavailableError(`cannot open the embedded database at ${dataDir}: ${message(error)}`, {
      cause: error,
    });
  }
  const mutex = new ConnectionMutex();
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite, session: { mutex } }) });
  const control = new Kysely<Database>({
    dialect: new PGliteDialect({ pglite, session: { mutex, urgent: true, owned: false } }),
  });
  let closed: Promise<void> | undefined;
  return {
    db,
    control,
    kind: "pglite",
    connections: 1,
    location: dir,
    close: () => {
      closed ??= control
        .destroy()
        .then(() => db.destroy())
        .finally(() => lock.release());
      return closed;
    },
  };
}

/** One short reason for a failed connection, with any trace of the password removed. */
function describeConnectError(error: unknown, url: string): string {
  const code = (error as { code?: unknown }).code;
  let text = message(error);
  if (text === "" && error instanceof AggregateError) text = error.errors.map(message).join("; ");
  if (typeof code === "string" && !text.includes(code)) text = text ? `${code}: ${text}` : code;
  const password = passwordOf(url);
  if (password) text = text.split(password).join("***");
  return redactDatabaseUrl(text || "connection failed");
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return "";
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
