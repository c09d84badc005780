import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AnyActorRef, createActor, type InspectionEvent, setup } from "xstate";
import { InspectionDemand, type InspectMode } from "../src/inspection-demand";

/** A machine with one step, then its final state. */
const stepper = setup({}).createMachine({
  id: "stepper",
  initial: "waiting",
  states: {
    waiting: { on: { STEP: "stepped" } },
    stepped: { on: { FINISH: "finished" } },
    finished: { type: "final" },
  },
});

/** The snapshots an observer saw, as `<actor id>:<state>:<status>`. */
function recorder() {
  const seen: string[] = [];
  const observe = (event: InspectionEvent) => {
    if (event.type !== "@xstate.snapshot") return;
    const snapshot = event.snapshot as unknown as { value: string; status: string };
    seen.push(`${(event.actorRef as AnyActorRef).id}:${snapshot.value}:${snapshot.status}`);
  };
  return { seen, observe };
}

function started(demand: InspectionDemand, id: string) {
  const actor = createActor(stepper, { id, ...demand.createOptions });
  demand.adopt(actor);
  actor.start();
  return actor;
}

describe("InspectionDemand", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function demandOf(mode: InspectMode, observe: (e: InspectionEvent) => void, onUnwatched = () => {}) {
    return new InspectionDemand({ mode, observe, watchForMs: 1_000, onUnwatched });
  }

  it("mode on: inspects nothing until watched, then live and new actors alike", () => {
    const { seen, observe } = recorder();
    const demand = demandOf("on", observe);
    const early = started(demand, "early");
    early.send({ type: "STEP" });
    expect(seen).toEqual([]);
    expect(demand.watched).toBe(false);

    demand.watch();
    expect(demand.watched).toBe(true);
    early.send({ type: "FINISH" });
    const late = started(demand, "late");
    late.send({ type: "STEP" });
    expect(seen).toEqual(["early:finished:done", "late:waiting:active", "late:stepped:active"]);
  });

  it("mode on: a watch lasts watchForMs after the last one, then every actor is detached", () => {
    const { seen, observe } = recorder();
    const unwatched = vi.fn();
    const demand = demandOf("on", observe, unwatched);
    const actor = started(demand, "a");
    demand.watch();
    vi.advanceTimersByTime(600);
    demand.watch(); // now watched until 1 600
    vi.advanceTimersByTime(900);
    expect(demand.watched).toBe(true);
    actor.send({ type: "STEP" });
    expect(seen).toEqual(["a:stepped:active"]);
    vi.advanceTimersByTime(200);
    expect(demand.watched).toBe(false);
    expect(unwatched).toHaveBeenCalledTimes(1);
    actor.send({ type: "FINISH" });
    started(demand, "b").send({ type: "STEP" });
    expect(seen).toEqual(["a:stepped:active"]);
  });

  it("reports an actor's final snapshot although its owner releases it on completion", () => {
    const { seen, observe } = recorder();
    const demand = demandOf("on", observe);
    demand.watch();
    const actor = createActor(stepper, { id: "c" });
    // What the engine's owners do: forget the actor when it completes.
    actor.subscribe({ complete: () => demand.release(actor) });
    demand.adopt(actor);
    actor.start();
    actor.send({ type: "STEP" });
    actor.send({ type: "FINISH" });
    expect(seen.at(-1)).toBe("c:finished:done");
    expect(demand.liveActors).toBe(0);
  });

  it("mode always: every actor from its creation, watched or not", () => {
    const { seen, observe } = recorder();
    const creations: string[] = [];
    const demand = demandOf("always", (event) => {
      if (event.type === "@xstate.actor") creations.push((event.actorRef as AnyActorRef).id);
      observe(event);
    });
    expect(demand.watched).toBe(true);
    started(demand, "d").send({ type: "STEP" });
    expect(creations).toEqual(["d"]);
    expect(seen).toEqual(["d:waiting:active", "d:stepped:active"]);
    expect(demand.liveActors).toBe(0);
  });

  it("mode off: nothing, even when asked", () => {
    const { seen, observe } = recorder();
    const demand = demandOf("off", observe);
    demand.watch();
    started(demand, "e").send({ type: "STEP" });
    expect(demand.watched).toBe(false);
    expect(seen).toEqual([]);
  });

  it("stop detaches every actor and ignores later watches", () => {
    const { seen, observe } = recorder();
    const unwatched = vi.fn();
    const demand = demandOf("on", observe, unwatched);
    const actor = started(demand, "f");
    demand.watch();
    demand.stop();
    expect(unwatched).toHaveBeenCalledTimes(1);
    demand.watch();
    actor.send({ type: "STEP" });
    started(demand, "g").send({ type: "STEP" });
    expect(seen).toEqual([]);
    expect(demand.watched).toBe(false);
  });
});
