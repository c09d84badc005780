/** Running the warm-up again once idle after work: when it runs, when it does not, and how it gives way. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IdleRewarm } from "../src/idle-rewarm";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Fake time passes (timers fire, promises settle between them). */
const pass = (ms: number) => vi.advanceTimersByTimeAsync(ms);

/** A warm-up of `rounds` rounds of `roundMs` each, asking keepGoing before each, like `warmUpUserAggregator`. */
function fakeWarmUp(rounds: number, roundMs: number) {
  const runs: { rounds: number }[] = [];
  const run = async (keepGoing: () => boolean) => {
    const entry = { rounds: 0 };
    runs.push(entry);
    for (let i = 0; i < rounds && keepGoing(); i++) {
      entry.rounds++;
      await sleep(roundMs);
    }
    return entry.rounds * roundMs;
  };
  return { run, runs };
}

describe("IdleRewarm", () => {
  const made: IdleRewarm[] = [];
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(async () => {
    const stopping = Promise.all(made.splice(0).map((r) => r.stop()));
    await vi.runAllTimersAsync();
    await stopping;
    vi.useRealTimers();
  });
  const create = (opts: ConstructorParameters<typeof IdleRewarm>[0]) => {
    const r = new IdleRewarm(opts);
    made.push(r);
    return r;
  };

  it("never runs on an instance that did no work", async () => {
    const warm = fakeWarmUp(2, 1);
    create({ idleMs: 10, busy: () => false, run: warm.run });
    await pass(1_000);
    expect(warm.runs).toEqual([]);
  });

  it("runs once, to its end, idleMs after the last job of a spell settled", async () => {
    const warm = fakeWarmUp(3, 2);
    const done: { ms: number; finished: boolean }[] = [];
    const rewarm = create({
      idleMs: 30,
      busy: () => false,
      run: warm.run,
      onDone: (ms, finished) => done.push({ ms, finished }),
    });
    rewarm.jobSettled();
    await pass(20);
    rewarm.jobSettled(); // re-arms: the idle spell counts from the last settled job
    await pass(20);
    expect(warm.runs).toEqual([]);
    await pass(10);
    expect(rewarm.warming).toBe(true);
    await pass(10);
    expect(warm.runs).toEqual([{ rounds: 3 }]);
    expect(done).toEqual([{ ms: 6, finished: true }]);
    expect(rewarm.warming).toBe(false);
    await pass(1_000);
    expect(warm.runs).toHaveLength(1); // once per spell: no work since, no second run
  });

  it("does not arm while a job is held, nor start when one arrived in the meantime", async () => {
    const warm = fakeWarmUp(2, 1);
    let busy = true;
    const rewarm = create({ idleMs: 10, busy: () => busy, run: warm.run });
    rewarm.jobSettled(); // settled, but another job is still held
    await pass(100);
    expect(warm.runs).toEqual([]);
    busy = false;
    rewarm.jobSettled();
    busy = true; // a job arrives before the idle spell is over
    await pass(100);
    expect(warm.runs).toEqual([]);
  });

  /** A long warm-up (rounds of 5 ms) 5 ms after work, recording whether each run finished. */
  const longWarmUp = (busy: () => boolean) => {
    const warm = fakeWarmUp(100, 5);
    const done: boolean[] = [];
    const rewarm = create({ idleMs: 5, busy, run: warm.run, onDone: (_ms, finished) => done.push(finished) });
    return { warm, done, rewarm };
  };

  it("gives way to real work at its next round, and says it did not finish", async () => {
    let busy = false;
    const { warm, done, rewarm } = longWarmUp(() => busy);
    rewarm.jobSettled();
    await pass(5 + 5 * 4);
    expect(rewarm.warming).toBe(true);
    busy = true;
    await pass(5);
    expect(rewarm.warming).toBe(false);
    expect(warm.runs).toEqual([{ rounds: 5 }]);
    expect(done).toEqual([false]);
  });

  it("gives way to a hold (a request being accepted) at its next round, and starts again after its release", async () => {
    const { warm, done, rewarm } = longWarmUp(() => false);
    rewarm.jobSettled();
    await pass(5 + 5 * 2);
    expect(rewarm.warming).toBe(true);
    const release = rewarm.hold();
    await pass(5);
    expect(rewarm.warming).toBe(false);
    expect(warm.runs).toEqual([{ rounds: 3 }]);
    expect(done).toEqual([false]);

    // Held: a job settling does not arm it, however long the hold lasts.
    rewarm.jobSettled();
    await pass(100);
    expect(warm.runs).toHaveLength(1);

    // Released: the idle spell starts now.
    release();
    release(); // a second call changes nothing
    await pass(4);
    expect(warm.runs).toHaveLength(1);
    await pass(1);
    expect(rewarm.warming).toBe(true);
    expect(warm.runs).toHaveLength(2);
  });

  it("does not start while held; one that came due meanwhile is armed again by the last release", async () => {
    const warm = fakeWarmUp(2, 1);
    const rewarm = create({ idleMs: 10, busy: () => false, run: warm.run });
    rewarm.hold()(); // a hold on an instance that did no work
    await pass(50);
    expect(warm.runs).toEqual([]); // arms nothing

    rewarm.jobSettled(); // armed: due at 10
    const first = rewarm.hold();
    const second = rewarm.hold();
    await pass(50);
    expect(warm.runs).toEqual([]); // came due while held
    first();
    await pass(50);
    expect(warm.runs).toEqual([]); // one hold is still open
    second(); // the acceptance brought no job: the idle spell starts now
    await pass(9);
    expect(warm.runs).toEqual([]);
    await pass(1);
    expect(warm.runs).toHaveLength(1);
  });

  it("stop cancels an armed run and waits for a running one to end its round", async () => {
    const armed = fakeWarmUp(2, 1);
    const first = create({ idleMs: 20, busy: () => false, run: armed.run });
    first.jobSettled();
    await first.stop();
    await pass(100);
    expect(armed.runs).toEqual([]);

    const running = fakeWarmUp(100, 5);
    const second = create({ idleMs: 1, busy: () => false, run: running.run });
    second.jobSettled();
    await pass(1 + 5 * 3);
    expect(second.warming).toBe(true);
    const stopped = second.stop();
    await pass(5);
    await stopped;
    expect(second.warming).toBe(false);
    expect(running.runs).toEqual([{ rounds: 4 }]);
    second.jobSettled(); // stopped: never again
    await pass(100);
    expect(running.runs).toHaveLength(1);
  });

  it("reports a warm-up that threw, and runs again after the next spell of work", async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const rewarm = create({
      idleMs: 5,
      busy: () => false,
      run: async () => {
        calls++;
        if (calls === 1) throw new Error("boom");
        return 1;
      },
      onError: (e) => errors.push(e),
    });
    rewarm.jobSettled();
    await pass(10);
    expect(errors).toHaveLength(1);
    rewarm.jobSettled();
    await pass(10);
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it("with idleMs 0, never runs", async () => {
    const warm = fakeWarmUp(2, 1);
    const rewarm = create({ idleMs: 0, busy: () => false, run: warm.run });
    rewarm.jobSettled();
    await pass(1_000);
    expect(warm.runs).toEqual([]);
  });
});
