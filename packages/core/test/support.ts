/** Builders shared by the core's tests. */
import type { DaySummary, Heartbeat, SummaryItem, UserSettings } from "../src/index";

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

let nextId = 1;

/** A heartbeat with Wakapi-test-like defaults; ids increase in creation order unless given. */
export function heartbeat(time: number, attributes: Partial<Omit<Heartbeat, "time">> = {}): Heartbeat {
  return {
    id: nextId++,
    time,
    entity: "/home/bob/dev/wakapi.go",
    project: "wakapi",
    language: "Go",
    editor: "GoLand",
    operatingSystem: "Linux",
    machine: "muety-desktop",
    category: "coding",
    ...attributes,
  };
}

/** User settings for tests: UTC, 10 min timeout, nothing excluded, no mappings unless overridden. */
export function settings(overrides: Partial<UserSettings> = {}): UserSettings {
  return {
    userId: "muety",
    timeZone: "UTC",
    timeoutMs: 600 * SECOND,
    excludeUnknownProjects: false,
    languageMappings: [],
    ...overrides,
  };
}

/** `{ key: total }` of one item type of a day, for readable assertions. */
export function totalsOf(day: DaySummary | undefined, type: SummaryItem["type"]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of day?.items ?? []) if (item.type === type) out[item.key] = item.total;
  return out;
}

/** Epoch ms of an ISO instant, e.g. `at("2025-03-09T06:59:00Z")`. */
export function at(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad instant ${iso}`);
  return ms;
}
