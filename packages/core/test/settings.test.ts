import { describe, expect, it } from "vitest";
import { DEFAULT_TIMEOUT_MS, resolveTimeoutMs, resolveUserSettings } from "../src/index";

describe("resolveTimeoutMs", () => {
  it.each([
    [120, 120_000],
    ["120", 120_000],
    [120n, 120_000],
    [1, 1_000],
    ["600", 600_000],
    [86_400, 86_400_000],
  ] as const)("%s s -> %d ms", (input, expected) => {
    expect(resolveTimeoutMs(input)).toBe(expected);
  });

  it.each([
    null,
    undefined,
    0,
    -5,
    "0",
    "-1",
    0n,
    -3n,
    "",
    "  ",
    "abc",
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ])("%s -> the 600 s default", (input) => {
    expect(resolveTimeoutMs(input)).toBe(600_000);
  });

  it("exposes the default", () => {
    expect(DEFAULT_TIMEOUT_MS).toBe(600_000);
  });
});

describe("resolveUserSettings", () => {
  it("applies every default of SEMANTICS.md", () => {
    expect(
      resolveUserSettings({
        userId: "u1",
        location: null,
        heartbeatsTimeoutSec: null,
        excludeUnknownProjects: null,
        languageMappings: null,
      }),
    ).toEqual({
      userId: "u1",
      timeZone: "UTC",
      timeoutMs: 600_000,
      excludeUnknownProjects: false,
      languageMappings: [],
    });
    expect(resolveUserSettings({ userId: "u2" }).timeZone).toBe("UTC");
  });

  it("keeps valid values", () => {
    const mappings = [{ extension: "go", language: "Golang" }];
    const resolved = resolveUserSettings({
      userId: "u1",
      location: "Europe/Berlin",
      heartbeatsTimeoutSec: "120",
      excludeUnknownProjects: true,
      languageMappings: mappings,
    });
    expect(resolved).toEqual({
      userId: "u1",
      timeZone: "Europe/Berlin",
      timeoutMs: 120_000,
      excludeUnknownProjects: true,
      languageMappings: mappings,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(resolveUserSettings({ userId: "u", location: "Not/AZone" }).timeZone).toBe("UTC");
  });
});
