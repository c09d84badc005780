import { describe, expect, it } from "vitest";
import { DEFAULT_OPTIONS, parseOptions, UsageError } from "../src/options";

describe("parseOptions", () => {
  it("takes --heap-profile as a switch, off by default", () => {
    expect(DEFAULT_OPTIONS.heapProfile).toBe(false);
    expect(parseOptions(["--heap-profile", "--users", "40"])).toMatchObject({ heapProfile: true, users: 40 });
  });

  it("refuses --heap-profile with --batch-scale, which has no nightly run to sample", () => {
    expect(() => parseOptions(["--heap-profile", "--batch-scale", "1000"])).toThrow(UsageError);
    expect(() => parseOptions(["--batch-scale", "1000", "--heap-profile"])).toThrow(/--batch-scale replaces/);
  });

  it("names the flag and what it wants when a count is bad", () => {
    expect(() => parseOptions(["--users", "0"])).toThrow("--users: a positive integer, got 0");
    expect(() => parseOptions(["--nightly-repeats", "-1"])).toThrow(
      "--nightly-repeats: a whole number, 0 or more, got -1",
    );
    expect(() => parseOptions(["--nightly-repeats"])).toThrow("--nightly-repeats needs a value");
  });
});
