/**
 * The NATS contract of the aggregation engine: subjects, payload schemas,
 * error codes, connection helpers and a typed client for `agg.*`.
 *
 * @packageDocumentation
 */
export * from "./client";
export * from "./connection";
export * from "./decode";
export * from "./errors";
export * from "./permissions";
export * from "./schemas";
export * from "./subjects";
