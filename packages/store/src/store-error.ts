/**
 * The codes a store error carries. They map one-to-one onto the contract's
 * error codes where one exists (`UNAVAILABLE`, `LEASE_LOST`).
 */
export type StoreErrorCode = "UNAVAILABLE" | "LEASE_LOST" | "MIGRATION_FAILED" | "BAD_INPUT";

/**
 * Base class of every error this package throws on purpose. Catch it and switch
 * on `code`; anything else that escapes is a driver error (SQLSTATE in `code`).
 */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
