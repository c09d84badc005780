/**
 * What the user aggregator machine costs per planned nightly job, in-process
 * and without I/O (BENCHMARKS.md, stop 22): `users` actors at a time, each
 * created with one job planned ahead (as a batch's triage plans it), its
 * writer answering "one day written, outcome recorded" at once, until every
 * outcome is announced. The actors then stay idle, as after a real nightly
 * run (their passivation comes long after); they are cancelled outside the
 * measured time. Each round runs without inspection and with the engine's
 * publisher, alternating, so drift and a busy machine hit both alike.
 *
 *   node --import tsx services/engine/test/nightly-job-cost.ts [--users 400] [--rounds 40] [--variant real,<module>]
 *
 * `--variant` compares other machines with the engine's (`real`): each module
 * must export a `userAggregatorMachine` with the same actors and actions. The
 * last stdout line is one JSON object: per variant, the median CPU
 * microseconds per job without and with inspection (rounds after the first
 * five, which warm V8 up).
 */
import { parseArgs } from "node:util";
import {
  type AggregateDaysInput,
  type JobPlan,
  type PlanJobInput,
  type ReportOutcomeInput,
  type UserJob,
  userAggregatorMachine,
} from "@agg/machines";
import { type AnyActorRef, createActor, type EventObject, fromCallback, fromPromise } from "xstate";
import { createInspectionPublisher } from "../src/inspection-events";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "400" },
    rounds: { type: "string", default: "40" },
    variant: { type: "string", default: "real" },
  },
});
const users = Number(values.users);
const rounds = Number(values.rounds);
const WARM_UP_ROUNDS = 5;
const DAY = { from: "2026-01-01", to: "2026-01-01" };

type UserMachine = typeof userAggregatorMachine;

let announced = 0;
let allAnnounced = () => {};

/** The machine with I/O that answers at once: one day written, its outcome recorded with it. */
function withInstantIo(machine: UserMachine) {
  return machine.provide({
    actors: {
      planJob: fromPromise<JobPlan, PlanJobInput>(async () => ({ kind: "days", days: 1, range: DAY })),
      aggregateDays: fromCallback<EventObject, AggregateDaysInput>(({ sendBack }) => {
        let stopped = false;
        void Promise.resolve().then(() => {
          if (!stopped)
            sendBack({ type: "AGGREGATION_FINISHED", days: 1, heartbeats: 80, outcomeRecorded: true });
        });
        return () => {
          stopped = true;
        };
      }),
      reportOutcome: fromPromise<void, ReportOutcomeInput>(async () => undefined),
    },
    actions: {
      closeJobChannel: () => undefined,
      announceOutcome: () => {
        announced++;
        if (announced === users) allAnnounced();
      },
    },
  });
}

const variants = values.variant.split(",");
const machines = new Map<string, ReturnType<typeof withInstantIo>>();
for (const variant of variants) {
  const machine =
    variant === "real"
      ? userAggregatorMachine
      : ((await import(variant)) as { userAggregatorMachine: UserMachine }).userAggregatorMachine;
  machines.set(variant, withInstantIo(machine));
}

// The engine's publisher, publishing nowhere (what AGG_INSPECT=on adds).
const publisher = createInspectionPublisher({
  publish: () => undefined,
  subject: "bench",
  instance: "bench",
});

function plannedJob(user: number, round: number): UserJob {
  return {
    jobId: `b${round}:u${user}`,
    batchId: `b${round}`,
    userId: `u${user}`,
    mode: "missing",
    plannedDays: { days: 1, range: DAY },
  };
}

/** CPU microseconds per job of one round: `users` new actors, each with its planned job, until all announced. */
async function round(
  machine: ReturnType<typeof withInstantIo>,
  inspect: boolean,
  r: number,
): Promise<number> {
  announced = 0;
  const done = new Promise<void>((resolve) => {
    allAnnounced = resolve;
  });
  const actors: AnyActorRef[] = [];
  const before = process.cpuUsage();
  for (let n = 0; n < users; n++) {
    const actor = createActor(machine, {
      id: `user:u${n}`,
      input: { userId: `u${n}`, passivateAfterMs: 30_000, jobTimeoutMs: 600_000, jobs: [plannedJob(n, r)] },
      ...(inspect ? { inspect: publisher.inspect } : {}),
    });
    actor.start();
    actors.push(actor);
  }
  await done;
  const used = process.cpuUsage(before);
  for (const actor of actors) actor.send({ type: "CANCEL", reason: "shutdown" });
  publisher.flush();
  return (used.user + used.system) / users;
}

const modes = variants.flatMap((v) => [`${v}|off`, `${v}|on`]);
const samples = new Map(modes.map((mode) => [mode, [] as number[]]));
for (let r = 0; r < rounds; r++) {
  // Alternate the order, so no mode always runs right after another's garbage.
  for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
    const [variant, inspection] = mode.split("|") as [string, string];
    const us = await round(machines.get(variant)!, inspection === "on", r);
    if (r >= WARM_UP_ROUNDS) samples.get(mode)!.push(us);
  }
}
publisher.stop();

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuUsPerJob = Object.fromEntries(
  variants.map((v) => [
    v,
    {
      inspectionOff: Math.round(median(samples.get(`${v}|off`)!)),
      inspectionOn: Math.round(median(samples.get(`${v}|on`)!)),
    },
  ]),
);
process.stdout.write(`${JSON.stringify({ users, rounds, cpuUsPerJob })}\n`);
process.exit(0);
