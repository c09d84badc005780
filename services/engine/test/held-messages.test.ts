import { describe, expect, it } from "vitest";
import { HeldMessages } from "../src/held-messages";

/** A message that records how it was settled. */
function message(name: string) {
  const calls: string[] = [];
  return {
    name,
    calls,
    ack: () => calls.push("ack"),
    nak: () => calls.push("nak"),
    working: () => calls.push("working"),
  };
}

describe("HeldMessages", () => {
  it("acks a group's message once, with its last job", () => {
    const held = new HeldMessages<ReturnType<typeof message>>();
    const m = message("m");
    expect(held.receive(["b:a", "b:b", "b:c"], m, 1)).toEqual(["b:a", "b:b", "b:c"]);
    expect(held.size).toBe(3);
    held.settle("b:a", "ack");
    held.settle("b:c", "ack");
    expect(m.calls).toEqual([]);
    expect(held.settle("b:b", "ack")).toBe(true);
    expect(m.calls).toEqual(["ack"]);
    expect(held.size).toBe(0);
    expect(held.settle("b:b", "ack")).toBe(false);
    expect(m.calls).toEqual(["ack"]);
  });

  it("naks the message when any of its jobs was handed back, once the others are settled", () => {
    const held = new HeldMessages<ReturnType<typeof message>>();
    const m = message("m");
    held.receive(["b:a", "b:b"], m, 1);
    held.settle("b:a", "nak");
    expect(m.calls).toEqual([]);
    held.settle("b:b", "ack");
    expect(m.calls).toEqual(["nak"]);
  });

  it("lets a redelivery still held here take over the settling, without starting its jobs again", () => {
    const held = new HeldMessages<ReturnType<typeof message>>();
    const first = message("first");
    const again = message("again");
    held.receive(["b:a", "b:b"], first, 1);
    held.settle("b:a", "ack");
    // b:a finished before the redelivery: it starts again (the engine asks the ledger first);
    // b:b is still running here and stays with its actor.
    expect(held.receive(["b:a", "b:b"], again, 5)).toEqual(["b:a"]);
    expect(held.receivedAt("b:b")).toBe(1);
    held.settle("b:b", "ack");
    held.settle("b:a", "ack");
    expect(first.calls).toEqual([]);
    expect(again.calls).toEqual(["ack"]);
  });

  it("keeps every unsettled message alive, each once", () => {
    const held = new HeldMessages<ReturnType<typeof message>>();
    const m1 = message("m1");
    const m2 = message("m2");
    held.receive(["b:a", "b:b"], m1, 1);
    held.receive(["b:c"], m2, 1);
    held.settle("b:c", "ack");
    held.keepAlive();
    expect(m1.calls).toEqual(["working"]);
    expect(m2.calls).toEqual(["ack"]);
  });
});
