/** The engine's configuration: defaults, and one clear error naming the variable. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config";

describe("loadConfig", () => {
  it("has the documented defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      prefix: "agg",
      concurrency: 512,
      dbPoolSize: 10,
      passivateAfterMs: 250,
      ackWaitMs: 6_000,
      leaseTtlMs: 5_000,
      busyRetryMs: 1_000,
      schedule: true,
      inspect: "on",
      inspectWatchMs: 60_000,
      warmUpJobs: 1_000,
      rewarmIdleMs: 500,
      databaseUrl: undefined,
    });
  });

  it("reads the environment, an empty variable meaning unset", () => {
    const config = loadConfig({
      AGG_CONCURRENCY: "8",
      AGG_DB_POOL_SIZE: "3",
      DATABASE_URL: "",
      AGG_INSPECT: "always",
      AGG_INSPECT_WATCH_MS: "5000",
      AGG_WARM_UP_JOBS: "0",
      AGG_REWARM_IDLE_MS: "0",
    });
    expect(config).toMatchObject({
      concurrency: 8,
      dbPoolSize: 3,
      databaseUrl: undefined,
      inspect: "always",
      inspectWatchMs: 5_000,
      warmUpJobs: 0,
      rewarmIdleMs: 0,
    });
  });

  it.each([
    ["AGG_CONCURRENCY", "0"],
    ["AGG_DB_POOL_SIZE", "many"],
    ["AGG_PASSIVATE_AFTER_MS", "-5"],
    ["AGG_PREFIX", "a.b"],
    ["AGG_SCHEDULE", "maybe"],
    ["AGG_INSPECT", "true"],
    ["AGG_INSPECT_WATCH_MS", "0"],
    ["AGG_WARM_UP_JOBS", "-1"],
    ["AGG_REWARM_IDLE_MS", "soon"],
  ])("refuses %s=%s with an error naming it", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
