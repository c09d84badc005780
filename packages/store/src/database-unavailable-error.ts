import { StoreError } from "./store-error";

/**
 * The database cannot be used: a malformed `DATABASE_URL`, a server that does
 * not answer, refused credentials, a missing database, or an embedded data
 * directory already in use. The message names the place (`host:port/db` or the
 * directory) and never a password.
 *
 * @example
 * ```ts
 * try { await openDatabase({ url }); }
 * catch (e) { if (e instanceof DatabaseUnavailableError) exit(3, e.message); else throw e; }
 * ```
 */
export class DatabaseUnavailableError extends StoreError {
  constructor(message: string, options?: ErrorOptions) {
    super("UNAVAILABLE", message, options);
  }
}
