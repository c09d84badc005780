/**
 * The benchmark drives the engine only through CONTRACT.md: `agg.request`, then
 * the final event on `agg.batch.<batchId>`, with raw JSON over NATS.
 */
import { createResourceNames, engineStreamNames } from "../../packages/protocol/src/subjects";
import { connectNats, type NatsConnection } from "./runtime-deps";

/** The final event of a batch (the `agg.status` object with a terminal state). */
export interface FinalEvent {
  readonly type: "final";
  readonly batchId: string;
  readonly state: string;
  readonly users: number;
  readonly done: number;
  readonly failed: number;
  readonly skipped: number;
}

/** A progress or final event of one batch, as `onEvent` of {@link ContractClient.runBatch} sees it. */
export interface BatchEvent {
  readonly type: string;
  readonly batchId: string;
  readonly users: number;
  readonly done: number;
  readonly failed: number;
  readonly skipped: number;
}

/** One live user actor in an `agg.inspect` reply (the fields the benchmark reads). */
export interface UserActorInfo {
  readonly instance: string;
  readonly userId?: string;
  /** The machine's state, nested states dotted (`processingJob.aggregating`). */
  readonly state: string;
}

/** A finished batch, timed from sending the request to receiving the final event. */
export interface BatchRun {
  readonly ms: number;
  /** From the request to the acceptance reply (ledger written, jobs durable). */
  readonly acceptMs: number;
  readonly final: FinalEvent;
}

/** A NATS connection speaking the contract under one subject prefix. */
export class ContractClient {
  private constructor(
    readonly nc: NatsConnection,
    readonly prefix: string,
  ) {}

  static async connect(servers: string, prefix: string): Promise<ContractClient> {
    return new ContractClient(await connectNats(servers, "agg-bench"), prefix);
  }

  /** The NATS server's version, as it announced itself. */
  get serverVersion(): string {
    return this.nc.info?.version ?? "unknown";
  }

  /**
   * Sends `agg.request` and waits for the batch's final event (subscribed
   * before the request, so a fast batch cannot finish unseen). `onEvent` sees
   * each of the batch's events once, in arrival order, from acceptance on.
   * @throws when the request is refused or no final event comes within `timeoutMs`.
   */
  async runBatch(
    request: Record<string, unknown>,
    timeoutMs: number,
    onEvent?: (event: BatchEvent) => void,
  ): Promise<BatchRun> {
    const sub = this.nc.subscribe(`${this.prefix}.batch.*`);
    const events: { subject: string; event: Record<string, unknown> }[] = [];
    let wake: (() => void) | undefined;
    const reading = (async () => {
      for await (const m of sub) {
        events.push({ subject: m.subject, event: m.json<Record<string, unknown>>() });
        wake?.();
      }
    })();
    await this.nc.flush();
    const started = performance.now();
    try {
      const reply = await this.nc.request(`${this.prefix}.request`, JSON.stringify(request), {
        timeout: 60_000,
      });
      const acceptMs = performance.now() - started;
      const accepted = reply.json<{ batchId?: unknown; error?: unknown }>();
      if (typeof accepted.batchId !== "string") {
        throw new Error(`agg.request refused: ${JSON.stringify(accepted)}`);
      }
      const subject = `${this.prefix}.batch.${accepted.batchId}`;
      const deadline = started + timeoutMs;
      let seen = 0;
      for (;;) {
        for (; seen < events.length; seen++) {
          const e = events[seen]!;
          if (e.subject === subject) onEvent?.(e.event as unknown as BatchEvent);
        }
        const final = events.find((e) => e.subject === subject && e.event.type === "final");
        if (final) {
          return {
            ms: Math.round(performance.now() - started),
            acceptMs: Math.round(acceptMs),
            final: final.event as unknown as FinalEvent,
          };
        }
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`batch ${accepted.batchId} did not finish within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(left, 1_000));
        });
      }
    } finally {
      sub.unsubscribe();
      await reading.catch(() => undefined);
    }
  }

  /**
   * The user actors every engine instance has live (`agg.inspect`): an actor
   * is listed only while its instance holds the user's lease.
   */
  async inspectUserActors(timeoutMs = 2_000): Promise<UserActorInfo[]> {
    const reply = await this.nc.request(
      `${this.prefix}.inspect`,
      JSON.stringify({ machine: "userAggregator" }),
      { timeout: timeoutMs },
    );
    const body = reply.json<{ actors?: UserActorInfo[]; error?: unknown }>();
    if (!Array.isArray(body.actors)) throw new Error(`agg.inspect refused: ${JSON.stringify(body)}`);
    return body.actors;
  }

  /**
   * Deletes the JetStream streams (job queue, dead letters, KV buckets) the
   * engine created under this prefix, so benchmark runs leave nothing behind.
   */
  async deleteEngineStreams(): Promise<void> {
    const streams = engineStreamNames(createResourceNames(this.prefix));
    for (const stream of streams) {
      // A stream that was never created answers with an error object: nothing to do.
      await this.nc.request(`$JS.API.STREAM.DELETE.${stream}`, "", { timeout: 5_000 }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}
