import { describe, expect, it } from "vitest";
import { Coalescer } from "../src/coalescer";

/** A run whose groups are recorded and that finishes only when told to. */
function gatedRun() {
  const groups: number[][] = [];
  const gates: (() => void)[] = [];
  const run = async (items: number[]) => {
    groups.push(items);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((n) => (n < 0 ? new Error(`negative ${n}`) : n * 10));
  };
  const openNext = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  };
  return { groups, run, openNext };
}

describe("Coalescer", () => {
  it("runs a lone item at once, as a group of one", async () => {
    const { groups, run, openNext } = gatedRun();
    const c = new Coalescer(run, { maxGroup: 10, maxInFlight: 1 });
    const result = c.submit(7);
    await openNext();
    expect(await result).toBe(70);
    expect(groups).toEqual([[7]]);
  });

  it("groups what queues while the groups in flight run, up to maxGroup", async () => {
    const { groups, run, openNext } = gatedRun();
    const c = new Coalescer(run, { maxGroup: 3, maxInFlight: 1 });
    const first = c.submit(1);
    await new Promise((r) => setImmediate(r));
    const rest = [2, 3, 4, 5].map((n) => c.submit(n));
    expect(c.waiting).toBe(4);
    await openNext(); // [1]
    await openNext(); // [2, 3, 4]
    await openNext(); // [5]
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40, 50]);
    expect(groups).toEqual([[1], [2, 3, 4], [5]]);
  });

  it("runs up to maxInFlight groups at the same time", async () => {
    const { groups, run, openNext } = gatedRun();
    const c = new Coalescer(run, { maxGroup: 100, maxInFlight: 2 });
    const a = c.submit(1);
    await new Promise((r) => setImmediate(r));
    const b = c.submit(2);
    await new Promise((r) => setImmediate(r));
    expect(groups).toEqual([[1], [2]]);
    const later = c.submit(3);
    await new Promise((r) => setImmediate(r));
    expect(groups).toHaveLength(2); // both slots busy: 3 waits
    await openNext();
    await openNext();
    await openNext();
    expect(await Promise.all([a, b, later])).toEqual([10, 20, 30]);
  });

  it("fails only the item its run answered with an error", async () => {
    const { run, openNext } = gatedRun();
    const c = new Coalescer(run, { maxGroup: 10, maxInFlight: 1 });
    const results = [1, -2, 3].map((n) => c.submit(n));
    await openNext();
    const settled = await Promise.allSettled(results);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((settled[1] as PromiseRejectedResult).reason.message).toBe("negative -2");
  });

  it("fails every item of a group whose run throws, and keeps serving later items", async () => {
    let fail = true;
    const c = new Coalescer(
      async (items: number[]) => {
        if (fail) throw new Error("database down");
        return items;
      },
      { maxGroup: 10, maxInFlight: 1 },
    );
    const failed = await Promise.allSettled([c.submit(1), c.submit(2)]);
    expect(failed.every((s) => s.status === "rejected")).toBe(true);
    fail = false;
    expect(await c.submit(3)).toBe(3);
  });

  it("treats a run that answers the wrong number of items as failed", async () => {
    const c = new Coalescer(async (_items: number[]) => [1], { maxGroup: 10, maxInFlight: 1 });
    await expect(Promise.all([c.submit(1), c.submit(2)])).rejects.toThrow(/answered 1 of 2/);
  });

  it("refuses a group size or parallelism below one", () => {
    expect(() => new Coalescer(async (i: number[]) => i, { maxGroup: 0, maxInFlight: 1 })).toThrow(
      RangeError,
    );
  });
});
