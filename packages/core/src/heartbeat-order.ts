import type { Heartbeat } from "./types";

/**
 * Orders heartbeats by `(time, id)`, the order the reducer requires.
 * Negative when `a` comes first; usable directly with `Array.prototype.sort`.
 *
 * @example
 * heartbeats.sort(compareHeartbeats);
 */
export function compareHeartbeats(
  a: Pick<Heartbeat, "time" | "id">,
  b: Pick<Heartbeat, "time" | "id">,
): number {
  return a.time !== b.time ? (a.time < b.time ? -1 : 1) : a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}
