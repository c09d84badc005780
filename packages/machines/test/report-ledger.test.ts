import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ReportLedger } from "../src/index";

describe("ReportLedger", () => {
  test("is immutable: older ledgers do not see later additions", () => {
    const a = ReportLedger.empty().add("alice");
    const b = a.add("bob");
    expect(a.has("bob")).toBe(false);
    expect(b.has("bob")).toBe(true);
    expect(b.add("alice")).toBe(b);
    expect([...b]).toEqual(["alice", "bob"]);
    expect(JSON.stringify(b)).toBe('["alice","bob"]');
  });

  test("branches from an older ledger without disturbing the newer one", () => {
    const base = ReportLedger.of(["a", "b"]);
    const left = base.add("c");
    const right = base.add("d").add("c");
    expect([...left]).toEqual(["a", "b", "c"]);
    expect([...right]).toEqual(["a", "b", "d", "c"]);
    expect(left.has("d")).toBe(false);
    expect(left.add("e").has("d")).toBe(false);
  });

  test("behaves like an immutable Set under any sequence of additions to any earlier version", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.constantFrom("a", "b", "c", "d", "e", "f")), { maxLength: 40 }),
        (operations) => {
          const versions: [ReportLedger, Set<string>][] = [[ReportLedger.empty(), new Set()]];
          for (const [pick, id] of operations) {
            const [ledger, model] = versions[pick % versions.length]!;
            versions.push([ledger.add(id), new Set([...model, id])]);
          }
          for (const [ledger, model] of versions) {
            expect(ledger.size).toBe(model.size);
            expect([...ledger]).toEqual([...model]);
            for (const id of ["a", "b", "c", "d", "e", "f"]) expect(ledger.has(id)).toBe(model.has(id));
          }
        },
      ),
    );
  });
});
