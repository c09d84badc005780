import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AggDatabase, migrateToLatest, openDatabase } from "@agg/store";
import pg from "pg";
import { type Dataset, insertDataset } from "./dataset";

/** The server tests create their databases on: `DATABASE_URL`, else the local PostgreSQL. */
export const TEST_DATABASE_BASE_URL =
  process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * Wakapi's core schema as its ORM lays it out on PostgreSQL (`../shared/` beside
 * the checkout), overridable with `WAKAPI_SCHEMA_FIXTURE`.
 */
export const WAKAPI_SCHEMA_FIXTURE =
  process.env.WAKAPI_SCHEMA_FIXTURE ||
  fileURLToPath(new URL("../../../../shared/fixtures/wakapi-postgres-schema.sql", import.meta.url));

/** A throw-away PostgreSQL database. */
export interface TestDatabase {
  /** `postgres://` URL of the new database. */
  readonly url: string;
  /** Its name, `agg_t_<random>`. */
  readonly name: string;
  /** Ends its connections and drops it. Idempotent. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database `agg_t_<random>` on the test server (optionally
 * loaded with Wakapi's schema fixture). Call `drop()` when done.
 *
 * @example
 * ```ts
 * const testDb = await createTestDatabase({ wakapiFixture: true });
 * afterAll(() => testDb.drop());
 * const store = await openDatabase({ url: testDb.url });
 * ```
 */
export async function createTestDatabase(opts: { wakapiFixture?: boolean } = {}): Promise<TestDatabase> {
  const name = `agg_t_${randomBytes(6).toString("hex")}`;
  await withAdmin((admin) => admin.query(`create database ${name}`));
  const url = databaseUrl(name);
  try {
    if (opts.wakapiFixture) {
      if (!existsSync(WAKAPI_SCHEMA_FIXTURE))
        throw new Error(`Wakapi schema fixture not found: ${WAKAPI_SCHEMA_FIXTURE}`);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(readFileSync(WAKAPI_SCHEMA_FIXTURE, "utf8"));
      } finally {
        await client.end();
      }
    }
  } catch (error) {
    await dropDatabase(name);
    throw error;
  }
  let dropped: Promise<void> | undefined;
  return {
    url,
    name,
    drop: () => {
      dropped ??= dropDatabase(name);
      return dropped;
    },
  };
}

/** A PGlite data directory of its own, initialised and empty. */
export interface TestPgliteDir {
  /** The directory to pass as `openDatabase({ dataDir })`. */
  readonly dataDir: string;
  /** Deletes it (close the database first). Idempotent. */
  remove(): void;
}

/**
 * A fresh, initialised PGlite data directory in the temp dir, not opened. It
 * starts as a copy of a template kept in the temp dir, so only the first call
 * on a machine pays for PGlite's initdb.
 */
export async function createTestPgliteDir(): Promise<TestPgliteDir> {
  const template = await pgliteTemplate();
  const parent = mkdtempSync(join(tmpdir(), "agg-pglite-"));
  const dataDir = join(parent, "pglite");
  const remove = () => rmSync(parent, { recursive: true, force: true });
  try {
    cpSync(template, dataDir, { recursive: true });
  } catch (error) {
    remove();
    throw error;
  }
  return { dataDir, remove };
}

/**
 * A store on a fresh PostgreSQL database of the test server (not migrated);
 * `close()` also drops the database.
 *
 * @example
 * ```ts
 * const store = await openTestPostgres();
 * afterAll(() => store.close());
 * await migrateToLatest(store.db);
 * ```
 */
export async function openTestPostgres(opts: { poolSize?: number } = {}): Promise<AggDatabase> {
  const testDb = await createTestDatabase();
  return openWithCleanup(
    () => openDatabase({ url: testDb.url, ...opts }),
    () => testDb.drop(),
  );
}

/**
 * An embedded PGlite store in a fresh temporary directory (not migrated);
 * `close()` also deletes the directory.
 */
export async function openTestPglite(): Promise<AggDatabase> {
  const dir = await createTestPgliteDir();
  return openWithCleanup(
    () => openDatabase({ dataDir: dir.dataDir }),
    () => dir.remove(),
  );
}

/** Opens a store whose `close()` (once, however often called) also runs `cleanup`; cleans up if opening fails. */
async function openWithCleanup(
  open: () => Promise<AggDatabase>,
  cleanup: () => void | Promise<void>,
): Promise<AggDatabase> {
  let store: AggDatabase;
  try {
    store = await open();
  } catch (error) {
    await cleanup();
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    ...store,
    close: () => {
      closed ??= store.close().finally(cleanup);
      return closed;
    },
  };
}

let template: Promise<string> | undefined;

/** An initialised, empty PGlite data directory, shared by the machine's test runs (keyed by PGlite's version). */
function pgliteTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = join(tmpdir(), `agg-pglite-template-${pgliteVersion()}`);
    if (existsSync(join(dir, "PG_VERSION"))) return dir;
    // Built aside and renamed into place, so a concurrent worker never copies a half-made one.
    const building = mkdtempSync(join(tmpdir(), "agg-pglite-template-build-"));
    try {
      const store = await openDatabase({ dataDir: join(building, "pglite") });
      await store.close();
      renameSync(join(building, "pglite"), dir);
    } catch (error) {
      if (!existsSync(join(dir, "PG_VERSION"))) throw error;
    } finally {
      rmSync(building, { recursive: true, force: true });
    }
    return dir;
  })();
  return template;
}

/** The version of the PGlite the store uses (a template from another version must not be reused). */
function pgliteVersion(): string {
  const store = createRequire(import.meta.url).resolve("@agg/store");
  let dir = dirname(createRequire(store).resolve("@electric-sql/pglite"));
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (!existsSync(manifest)) continue;
    const { name, version } = JSON.parse(readFileSync(manifest, "utf8")) as {
      name?: string;
      version?: string;
    };
    if (name === "@electric-sql/pglite" && version) return version;
  }
  throw new Error("cannot find the version of @electric-sql/pglite");
}

/** The test server's URL with its database replaced by `name`. */
function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_BASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabase(name: string): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [name],
    );
    await admin.query(`drop database if exists ${name} with (force)`);
  });
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_BASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A throw-away PostgreSQL database with the engine's schema and `data` in it:
 * the usual first step of an end-to-end test.
 */
export async function createSeededDatabase(data: Dataset): Promise<TestDatabase> {
  const testDb = await createTestDatabase();
  try {
    const store = await openDatabase({ url: testDb.url });
    try {
      await migrateToLatest(store.db);
      await insertDataset(store.db, data);
    } finally {
      await store.close();
    }
  } catch (error) {
    await testDb.drop();
    throw error;
  }
  return testDb;
}
