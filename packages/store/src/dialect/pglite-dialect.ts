import {
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
} from "kysely";
import { type PGliteDialectConfig, PGliteDriver } from "./pglite-driver";

/**
 * Kysely dialect for an embedded PGlite (PostgreSQL compiled to WASM): the
 * PostgreSQL compiler, adapter and introspector over our own small driver.
 * PGlite is one session, so queries take turns: inside a transaction, use the
 * transaction object; a query on the outer `db` waits until the transaction
 * ends (so issued from inside it, it would wait forever).
 *
 * @example
 * ```ts
 * const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite: new PGlite("./data/pglite") }) });
 * ```
 */
export class PGliteDialect implements Dialect {
  readonly #config: PGliteDialectConfig;

  constructor(config: PGliteDialectConfig) {
    this.#config = config;
  }

  createDriver(): Driver {
    return new PGliteDriver(this.#config);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}

export type { PGliteDialectConfig };
