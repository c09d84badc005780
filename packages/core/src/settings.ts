/**
 * Turning a user's stored preferences (Wakapi's `users` columns and
 * `language_mappings` rows, as loosely typed as drivers return them) into the
 * `UserSettings` the reducer needs, with SEMANTICS.md's defaults applied once.
 */
import { resolveTimeZone } from "./time-zone";
import type { LanguageMapping, UserSettings } from "./types";

/** Timeout used when a user has none (NULL) or a non-positive one: 600 s, as in SEMANTICS.md. */
export const DEFAULT_TIMEOUT_MS = 600_000;

/**
 * The heartbeat timeout in milliseconds for a stored `heartbeats_timeout_sec`.
 * NULL, <= 0 and anything that is not a finite number (e.g. `"abc"`) give
 * {@link DEFAULT_TIMEOUT_MS}. Accepts strings and bigints because PostgreSQL
 * drivers return `bigint` columns that way.
 *
 * @example
 * resolveTimeoutMs(120);   // 120_000
 * resolveTimeoutMs("120"); // 120_000
 * resolveTimeoutMs(0);     // 600_000
 * resolveTimeoutMs(null);  // 600_000
 */
export function resolveTimeoutMs(timeoutSec: number | string | bigint | null | undefined): number {
  if (timeoutSec === null || timeoutSec === undefined) return DEFAULT_TIMEOUT_MS;
  const seconds =
    typeof timeoutSec === "string"
      ? timeoutSec.trim() === ""
        ? Number.NaN
        : Number(timeoutSec)
      : Number(timeoutSec);
  const ms = seconds * 1000;
  return Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_TIMEOUT_MS;
}

/** A user's stored preferences, as a repository reads them (every column nullable). */
export interface StoredUserSettings {
  readonly userId: string;
  /** `users.location`. */
  readonly location?: string | null;
  /** `users.heartbeats_timeout_sec`. */
  readonly heartbeatsTimeoutSec?: number | string | bigint | null;
  /** `users.exclude_unknown_projects`; NULL means false. */
  readonly excludeUnknownProjects?: boolean | null;
  /** The user's `language_mappings` rows, in id order (a later duplicate extension wins). */
  readonly languageMappings?: readonly LanguageMapping[] | null;
}

/**
 * Resolves stored preferences into {@link UserSettings}: unknown/empty zone ->
 * UTC, NULL/<= 0 timeout -> 600 s, NULL exclusion flag -> false.
 *
 * @example
 * resolveUserSettings({ userId: "alice", location: "Europe/Berlin", heartbeatsTimeoutSec: "120" });
 * // { userId: "alice", timeZone: "Europe/Berlin", timeoutMs: 120000, excludeUnknownProjects: false, languageMappings: [] }
 */
export function resolveUserSettings(stored: StoredUserSettings): UserSettings {
  return Object.freeze({
    userId: stored.userId,
    timeZone: resolveTimeZone(stored.location),
    timeoutMs: resolveTimeoutMs(stored.heartbeatsTimeoutSec),
    excludeUnknownProjects: stored.excludeUnknownProjects === true,
    languageMappings: Object.freeze([...(stored.languageMappings ?? [])]),
  });
}
