import { describe, expect, it } from "vitest";
import { decodeJobs, groupJobs, JOB_GROUP_MAX, jobGroupSize, jobsOf } from "../src/job-queue";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("job groups", () => {
  it("sends small batches a user per message, so they spread over the cluster", () => {
    expect(jobGroupSize(1)).toBe(1);
    expect(jobGroupSize(63)).toBe(1);
    expect(jobGroupSize(400)).toBe(12);
    expect(jobGroupSize(100_000)).toBe(JOB_GROUP_MAX);
  });

  it("cuts a batch's users into groups in order, every user exactly once", () => {
    const users = Array.from({ length: 37 }, (_, i) => `u${i}`);
    const groups = groupJobs({ batchId: "b1", mode: "missing", to: "2026-11-26" }, users, 8);
    expect(groups.map((g) => g.users.length)).toEqual([8, 8, 8, 8, 5]);
    expect(groups.flatMap((g) => g.users)).toEqual(users);
    expect(groups.every((g) => g.batchId === "b1" && g.mode === "missing" && g.to === "2026-11-26")).toBe(
      true,
    );
  });

  it("gives a user the same job id whichever group carries it", () => {
    const [a] = jobsOf({ batchId: "b1", mode: "regenerate", users: ["alice", "bob"] });
    const [b] = jobsOf({ batchId: "b1", mode: "regenerate", users: ["alice"] });
    expect(a).toEqual(b);
    expect(a).toEqual({ jobId: "b1:alice", batchId: "b1", userId: "alice", mode: "regenerate" });
  });

  it("gives every job the same keys in one order, whether or not its request bounded it", () => {
    const [nightly] = jobsOf({ batchId: "b1", mode: "missing", users: ["alice"] });
    const [full] = jobsOf({ batchId: "b1", mode: "regenerate", to: "2026-11-26", users: ["alice"] });
    const [bounded] = jobsOf({
      batchId: "b1",
      mode: "regenerate",
      from: "2026-11-01",
      to: "2026-11-26",
      users: ["a"],
    });
    const keys = ["jobId", "batchId", "userId", "mode", "from", "to"];
    expect([nightly, full, bounded].map((j) => Object.keys(j!))).toEqual([keys, keys, keys]);
    expect(full).toEqual({
      jobId: "b1:alice",
      batchId: "b1",
      userId: "alice",
      mode: "regenerate",
      to: "2026-11-26",
    });
  });

  it("decodes a group message into one job per distinct user", () => {
    const jobs = decodeJobs(
      encode({ batchId: "b1", mode: "missing", from: "2026-11-01", users: ["alice", "bob", "alice"] }),
    );
    expect(jobs.map((j) => j.jobId)).toEqual(["b1:alice", "b1:bob"]);
    expect(jobs.every((j) => j.from === "2026-11-01" && j.to === undefined)).toBe(true);
  });

  it("still decodes a single-user message (published before job groups)", () => {
    expect(decodeJobs(encode({ batchId: "b1", userId: "alice", mode: "missing" }))).toEqual([
      { jobId: "b1:alice", batchId: "b1", userId: "alice", mode: "missing" },
    ]);
  });

  it.each([
    [new Uint8Array([0xde, 0xad, 0xbe, 0xef]), /UTF-8 JSON/],
    [encode([1, 2]), /not an object/],
    [encode({ batchId: "b 1", mode: "missing", users: ["a"] }), /batchId/],
    [encode({ batchId: "b1", mode: "sometimes", users: ["a"] }), /mode/],
    [encode({ batchId: "b1", mode: "missing", users: [] }), /list of 1 to/],
    [encode({ batchId: "b1", mode: "missing", users: ["a", 42] }), /other than user ids/],
    [
      encode({ batchId: "b1", mode: "missing", users: Array.from({ length: 65 }, (_, i) => `u${i}`) }),
      /list of/,
    ],
    [encode({ batchId: "b1", mode: "missing" }), /no users/],
    [encode({ batchId: "b1", mode: "missing", users: ["a"], to: "tomorrow" }), /job.to/],
  ])("refuses a malformed message (%#) with a reason", (data, reason) => {
    expect(() => decodeJobs(data)).toThrow(reason);
  });
});
