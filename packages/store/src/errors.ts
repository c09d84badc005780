/**
 * @agg/store/errors: the store's error classes alone, with none of its drivers.
 * A program that only has to recognise a store error (the CLI's exit codes)
 * imports this entry, so it does not load Kysely, pg and PGlite at start.
 */

export { DatabaseUnavailableError } from "./database-unavailable-error";
export { FencedOutError } from "./fenced-out-error";
export { InvalidInputError } from "./invalid-input-error";
export { MigrationError } from "./migration/migration-error";
export { StoreError, type StoreErrorCode } from "./store-error";
