/**
 * What inspection costs per user job, in-process and without I/O (issue 5):
 * the real user aggregator, its planner, writer and reporter answering at
 * once, run with no `inspect`, with a no-op `inspect` (XState's own cost of
 * producing inspection events) and with the publisher (everything
 * `AGG_INSPECT=on` adds). Rounds alternate between the three, so drift and a
 * busy machine hit them alike.
 *
 *   node --import tsx services/engine/test/inspection-overhead.ts [--users 2000] [--days 15] [--rounds 8]
 *
 * The last stdout line is one JSON object: CPU microseconds per user job of
 * each mode (median over the rounds), and the publisher's records and bytes
 * per job. Divide the difference by the engine's CPU per user job
 * (`engineCpuS / users` of `pnpm bench`) for the share of the engine.
 */
import { parseArgs } from "node:util";
import {
  type AggregateDaysInput,
  type JobPlan,
  type PlanJobInput,
  type ReportOutcomeInput,
  userAggregatorMachine,
} from "@agg/machines";
import { createActor, type EventObject, fromCallback, fromPromise, type InspectionEvent } from "xstate";
import { createInspectionPublisher } from "../src/inspection-events";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "2000" },
    days: { type: "string", default: "15" },
    rounds: { type: "string", default: "8" },
  },
});
const users = Number(values.users);
const days = Number(values.days);
const rounds = Number(values.rounds);

const machine = userAggregatorMachine.provide({
  actors: {
    planJob: fromPromise<JobPlan, PlanJobInput>(async () => ({
      kind: "days",
      days,
      range: { from: "2026-01-01", to: "2026-01-31" },
    })),
    aggregateDays: fromCallback<EventObject, AggregateDaysInput>(({ sendBack }) => {
      queueMicrotask(() => {
        for (let d = 0; d < days; d++) sendBack({ type: "DAY_PERSISTED", day: "2026-01-01", heartbeats: 80 });
        sendBack({ type: "AGGREGATION_FINISHED" });
      });
    }),
    reportOutcome: fromPromise<void, ReportOutcomeInput>(async () => undefined),
  },
  actions: { closeJobChannel: () => undefined },
});

let bytes = 0;
const publisher = createInspectionPublisher({
  publish: (_subject, data) => {
    bytes += data.length;
  },
  subject: "agg.x.inspect.events.bench",
  instance: "bench",
  // Nothing dropped: the worst case, every record built and serialised.
  maxEventsPerSecond: 1_000_000_000,
  flushEveryMs: 60_000,
});

type Mode = "off" | "xstate" | "publisher";
const inspectOf: Record<Mode, ((event: InspectionEvent) => void) | undefined> = {
  off: undefined,
  xstate: () => undefined,
  publisher: publisher.inspect,
};

/** One job for each of `n` users, from the first event to passivation. */
async function runJobs(n: number, inspect: ((event: InspectionEvent) => void) | undefined): Promise<void> {
  const ended: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const userId = `u${i}`;
    const actor = createActor(machine, {
      id: `user:${userId}`,
      input: { userId, passivateAfterMs: 0, jobTimeoutMs: 60_000 },
      ...(inspect ? { inspect } : {}),
    });
    ended.push(new Promise((resolve) => actor.subscribe({ complete: () => resolve() })));
    actor.start();
    actor.send({ type: "JOB_RECEIVED", job: { jobId: `j${i}`, batchId: "b1", userId, mode: "regenerate" } });
    // About what an engine flushes per interval.
    if (i % 200 === 199) publisher.flush();
  }
  await Promise.all(ended);
  publisher.flush();
}

async function cpuMicrosPerJob(mode: Mode): Promise<number> {
  const before = process.cpuUsage();
  await runJobs(users, inspectOf[mode]);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / users;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const modes: Mode[] = ["off", "xstate", "publisher"];
for (const mode of modes) await runJobs(users, inspectOf[mode]); // warm-up
const samples: Record<Mode, number[]> = { off: [], xstate: [], publisher: [] };
const published0 = publisher.published;
const bytes0 = bytes;
for (let r = 0; r < rounds; r++) {
  // Rotate the order, so no mode always runs right after garbage from another.
  for (let k = 0; k < modes.length; k++) {
    const mode = modes[(r + k) % modes.length]!;
    samples[mode].push(await cpuMicrosPerJob(mode));
  }
}
publisher.stop();
const jobs = users * rounds;
const result = {
  users,
  days,
  rounds,
  cpuUsPerJob: {
    off: Math.round(median(samples.off) * 10) / 10,
    xstate: Math.round(median(samples.xstate) * 10) / 10,
    publisher: Math.round(median(samples.publisher) * 10) / 10,
  },
  inspectionUsPerJob: Math.round((median(samples.publisher) - median(samples.off)) * 10) / 10,
  recordsPerJob: Math.round(((publisher.published - published0) / jobs) * 10) / 10,
  bytesPerJob: Math.round((bytes - bytes0) / jobs),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
