import type { PGlite, Results } from "@electric-sql/pglite";
import {
  AbortedTransactionError,
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from "kysely";
import { ConnectionMutex } from "./connection-mutex";

/** How the PGlite dialect gets its database. */
export interface PGliteDialectConfig {
  /**
   * The instance, or a function creating it on first use. The driver owns it
   * (`destroy()` closes it) unless `session` says otherwise.
   */
  readonly pglite: PGlite | (() => Promise<PGlite>);
  /**
   * A second lane onto a session another driver owns: several Kysely
   * instances over one PGlite share its mutex, and `destroy()` leaves the
   * PGlite open. `urgent` lanes get the session before ordinary waiters.
   */
  readonly session?: { readonly mutex: ConnectionMutex; readonly urgent?: boolean; readonly owned?: false };
}

/**
 * Kysely driver over one embedded PGlite. PGlite is a single session: the one
 * connection is handed out under a mutex, so a transaction never interleaves
 * with other queries (they wait for it).
 * @internal
 */
export class PGliteDriver implements Driver {
  readonly #config: PGliteDialectConfig;
  readonly #mutex: ConnectionMutex;
  readonly #urgent: boolean;
  readonly #owned: boolean;
  #connection: PGliteConnection | undefined;
  #pglite: PGlite | undefined;

  constructor(config: PGliteDialectConfig) {
    this.#config = config;
    this.#mutex = config.session?.mutex ?? new ConnectionMutex();
    this.#urgent = config.session?.urgent === true;
    this.#owned = config.session?.owned !== false;
  }

  async init(): Promise<void> {
    const { pglite } = this.#config;
    this.#pglite = typeof pglite === "function" ? await pglite() : pglite;
    await this.#pglite.waitReady;
    this.#connection = new PGliteConnection(this.#pglite);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock(this.#urgent);
    if (!this.#connection) {
      this.#mutex.unlock();
      throw new Error("the PGlite driver has been destroyed");
    }
    return this.#connection;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let statement = "begin";
    if (settings.isolationLevel || settings.accessMode) {
      statement = "start transaction";
      if (settings.isolationLevel) statement += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode) statement += ` ${settings.accessMode}`;
    }
    await connection.executeQuery(CompiledQuery.raw(statement));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const result = await connection.executeQuery<{ command?: string }>(CompiledQuery.raw("commit"));
    // PostgreSQL answers COMMIT with a ROLLBACK tag when an earlier error aborted the transaction.
    if (result.rows[0]?.command === "ROLLBACK") throw new AbortedTransactionError();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdentifier(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdentifier(name)}`));
  }

  async releaseConnection(): Promise<void> {
    this.#mutex.unlock();
  }

  async destroy(): Promise<void> {
    const pglite = this.#pglite;
    this.#pglite = undefined;
    this.#connection = undefined;
    if (pglite && this.#owned && !pglite.closed) {
      // Wait for whoever holds the session, so close never cuts a transaction short.
      await this.#mutex.lock();
      try {
        await pglite.close();
      } finally {
        this.#mutex.unlock();
      }
    }
  }
}

const AFFECTING_COMMANDS = new Set(["INSERT", "UPDATE", "DELETE", "MERGE"]);

/** The one session, as a Kysely connection. @internal */
class PGliteConnection implements DatabaseConnection {
  readonly #pglite: PGlite;

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    let result: Results<R>;
    try {
      result = await this.#pglite.query<R>(compiledQuery.sql, [...compiledQuery.parameters], {
        rowMode: "object",
      });
    } catch (error) {
      throw withCallerStack(error, new Error());
    }
    const command = result.command?.toUpperCase();
    if (command === "COMMIT" || command === "ROLLBACK") return { rows: [{ command } as R] };
    const affected = result.rowCount ?? result.affectedRows;
    return {
      rows: result.rows ?? [],
      ...(command && AFFECTING_COMMANDS.has(command) && affected !== undefined
        ? { numAffectedRows: BigInt(affected) }
        : {}),
    };
  }

  /**
   * PGlite has no server-side cursor over its query API: this runs the query
   * once and hands the rows out in chunks (memory holds all of them). Code that
   * must not load everything pages with keyset queries instead.
   */
  async *streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize = 1000,
  ): AsyncIterableIterator<QueryResult<R>> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0)
      throw new Error("chunkSize must be a positive integer");
    const { rows } = await this.executeQuery<R>(compiledQuery);
    for (let i = 0; i < rows.length; i += chunkSize) yield { rows: rows.slice(i, i + chunkSize) };
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Appends the stack of the code that issued the query, so a failing query points at its caller. */
function withCallerStack(error: unknown, caller: Error): unknown {
  if (error instanceof Error && error.stack && caller.stack) {
    error.stack += caller.stack.slice(caller.stack.indexOf("\n"));
  }
  return error;
}
