import {
  ClosedConnectionError,
  DrainingConnectionError,
  type Msg,
  type NatsConnection,
  RequestError,
  type Subscription,
  TimeoutError,
} from "@nats-io/nats-core";
import { z } from "zod";
import { formatIssues } from "./decode";
import {
  type AggError,
  errorFromReply,
  InternalError,
  isErrorReply,
  UnavailableError,
  WaitTimeoutError,
} from "./errors";
import {
  type AggRequestInput,
  type BatchEvent,
  BatchEventSchema,
  type BatchStatus,
  BatchStatusSchema,
  type InspectReply,
  InspectReplySchema,
  type InspectRequest,
  type RequestAccepted,
  RequestAcceptedSchema,
} from "./schemas";
import { assertBatchId, createSubjects, DEFAULT_PREFIX, type Subjects } from "./subjects";

/** Default time to wait for an engine's reply to one request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Default interval of the `agg.status` polling behind {@link AggClient.waitForBatch}. */
export const DEFAULT_POLL_INTERVAL_MS = 2_000;
/** Events a watch holds before the oldest unread progress events are dropped (the final one never is). */
const MAX_BUFFERED_EVENTS = 10_000;

/** Options of {@link AggClient}. */
export interface AggClientOptions {
  /** Subject prefix, default `agg` (`AGG_PREFIX`). */
  readonly prefix?: string;
  /** Time to wait for a reply to one request. Default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

/**
 * The events of one batch, in order, ending after the final event. Iterate
 * it once; `stop()` ends it early (and unsubscribes).
 */
export interface BatchWatch extends AsyncIterable<BatchEvent> {
  /** The watched batch, or `undefined` while {@link AggClient.requestAndWatch} waits for the reply. */
  readonly batchId: string | undefined;
  /** Unsubscribes and ends the iteration. Idempotent. */
  stop(): void;
}

/** Options of {@link AggClient.watchBatch}. */
export interface WatchOptions {
  /** Ends the watch when aborted. */
  readonly signal?: AbortSignal;
}

/** Options of {@link AggClient.waitForBatch}. */
export interface WaitOptions {
  /** Called with the status each time the batch's counted users grow (from events or polls). */
  readonly onProgress?: (status: BatchStatus) => void;
  /** Gives up with a {@link WaitTimeoutError} after this long. Default: waits as long as the batch runs. */
  readonly timeoutMs?: number;
  /** How often `agg.status` is polled, so a lost event never hangs the wait. Default {@link DEFAULT_POLL_INTERVAL_MS}. */
  readonly pollIntervalMs?: number;
  /** Ends the wait (rejecting with the signal's reason) when aborted. */
  readonly signal?: AbortSignal;
  /** A watch already subscribed (from {@link AggClient.requestAndWatch}); otherwise one is opened. */
  readonly events?: BatchWatch;
}

/**
 * A typed client for the contract's subjects. Error replies become thrown
 * {@link AggError} subclasses; a missing engine is an {@link UnavailableError}.
 *
 * @example
 * ```ts
 * const client = new AggClient(await connectNats(process.env), { prefix: process.env.AGG_PREFIX });
 * const { accepted, final } = await client.requestAndWait(
 *   { users: ["alice"], mode: "regenerate" },
 *   { onProgress: (s) => console.error(`${s.done + s.failed + s.skipped}/${s.users}`) },
 * );
 * ```
 */
export class AggClient {
  /** The subjects this client talks on. */
  readonly subjects: Subjects;
  private readonly timeoutMs: number;

  constructor(
    readonly nc: NatsConnection,
    options: AggClientOptions = {},
  ) {
    this.subjects = createSubjects(options.prefix ?? DEFAULT_PREFIX);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /**
   * Asks for a batch (`agg.request`). Resolves once the engine has made it
   * durable. Validation happens in the engine: a bad payload rejects with a
   * `BadRequestError` naming the problem.
   */
  request(payload: AggRequestInput = {}): Promise<RequestAccepted> {
    return this.call(this.subjects.request, payload, RequestAcceptedSchema);
  }

  /**
   * A batch's status (`agg.status`).
   *
   * @throws BadRequestError for a malformed batch id (before anything is sent).
   * @throws NotFoundError when no batch has this id.
   */
  async status(batchId: string): Promise<BatchStatus> {
    // Checked here too: a malformed id is the caller's bug, no engine needs to see it.
    assertBatchId(batchId);
    return this.call(this.subjects.status, { batchId }, BatchStatusSchema);
  }

  /** Every live actor of every engine instance (`agg.inspect`), optionally filtered. */
  inspect(filter: InspectRequest = {}): Promise<InspectReply> {
    return this.call(this.subjects.inspect, filter, InspectReplySchema);
  }

  /**
   * Subscribes to `agg.batch.<batchId>` now (not when iteration starts), so
   * calling it before the work can finish never misses the final event.
   * For a new batch use {@link requestAndWatch}, which subscribes before it
   * requests; for a running one prefer {@link waitForBatch}, which also polls.
   */
  watchBatch(batchId: string, options: WatchOptions = {}): BatchWatch {
    return new BatchEventStream(this.nc, this.subjects, this.subjects.batchEvents(batchId), batchId, options);
  }

  /**
   * Requests a batch and watches its events without a race: it subscribes
   * to `agg.batch.*` before sending the request, keeps what arrives until the
   * reply names the batch, then delivers only that batch's events.
   */
  async requestAndWatch(
    payload: AggRequestInput = {},
    options: WatchOptions = {},
  ): Promise<{ accepted: RequestAccepted; events: BatchWatch }> {
    const events = new BatchEventStream(
      this.nc,
      this.subjects,
      this.subjects.batchEventsWildcard,
      undefined,
      options,
    );
    try {
      const accepted = await this.request(payload);
      events.follow(accepted.batchId);
      return { accepted, events };
    } catch (err) {
      events.stop();
      throw err;
    }
  }

  /**
   * Waits until a batch ends and resolves with its final status (the
   * `agg.status` object). Events give the fast path; `agg.status` is polled
   * as well (at once, then every `pollIntervalMs`), so a final event
   * published before the watch began, or lost, never hangs the wait. While
   * no engine answers (a restart) it keeps waiting.
   *
   * @throws NotFoundError when no batch has this id.
   * @throws {WaitTimeoutError} after `timeoutMs`, with the last status seen.
   */
  async waitForBatch(batchId: string, options: WaitOptions = {}): Promise<BatchStatus> {
    const events = options.events ?? this.watchBatch(batchId);
    const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    let last: BatchStatus | undefined;
    let reported = -1;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let pollTimer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;

    return await new Promise<BatchStatus>((resolve, reject) => {
      const finish = (error: unknown, status?: BatchStatus) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(pollTimer);
        if (onAbort) options.signal?.removeEventListener("abort", onAbort);
        events.stop();
        if (status) resolve(status);
        else reject(error);
      };
      const seen = (status: BatchStatus) => {
        last = status;
        if (status.state !== "running") return finish(undefined, status);
        // Counts only grow within a batch. Events and polls race, so an older
        // status can arrive after a newer one: only progress is reported.
        const counted = status.done + status.failed + status.skipped;
        if (counted <= reported) return;
        reported = counted;
        try {
          options.onProgress?.(status);
        } catch (err) {
          finish(err);
        }
      };

      if (options.signal) {
        if (options.signal.aborted) return finish(options.signal.reason);
        onAbort = () => finish(options.signal?.reason);
        options.signal.addEventListener("abort", onAbort, { once: true });
      }
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(
          () => finish(new WaitTimeoutError(batchId, options.timeoutMs ?? 0, last)),
          options.timeoutMs,
        );
      }

      void (async () => {
        try {
          for await (const event of events) {
            seen(statusOf(event));
            if (settled) return;
          }
        } catch {
          // The watch ended with the connection; polling decides from here.
        }
      })();

      const poll = async () => {
        if (settled) return;
        try {
          seen(await this.status(batchId));
        } catch (err) {
          // An engine restarting answers nothing for a while: keep waiting. Anything else is final.
          if (!(err instanceof UnavailableError) || this.nc.isClosed()) return finish(err);
        }
        if (!settled) pollTimer = setTimeout(poll, pollIntervalMs);
      };
      void poll();
    });
  }

  /** {@link requestAndWatch} then {@link waitForBatch}: the whole `pnpm agg request --wait`. */
  async requestAndWait(
    payload: AggRequestInput = {},
    options: Omit<WaitOptions, "events"> = {},
  ): Promise<{ accepted: RequestAccepted; final: BatchStatus }> {
    const { accepted, events } = await this.requestAndWatch(
      payload,
      options.signal ? { signal: options.signal } : {},
    );
    const final = await this.waitForBatch(accepted.batchId, { ...options, events });
    return { accepted, final };
  }

  /**
   * One request-reply on a subject the typed methods do not cover (such as the
   * `<prefix>.summary` extension): JSON out, JSON back, an error reply thrown as
   * its `AggError` class, no answer as an `UnavailableError`. The caller checks the shape.
   */
  requestJson(subject: string, payload: unknown): Promise<unknown> {
    return this.call(subject, payload, z.unknown());
  }

  /** One request-reply: JSON out, an error reply thrown as its class, the reply validated. */
  private async call<S extends z.ZodType>(
    subject: string,
    payload: unknown,
    schema: S,
  ): Promise<z.output<S>> {
    let msg: Msg;
    try {
      msg = await this.nc.request(subject, JSON.stringify(payload), { timeout: this.timeoutMs });
    } catch (cause) {
      throw requestFailure(subject, this.timeoutMs, cause);
    }
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(msg.data));
    } catch (cause) {
      throw new InternalError(`malformed reply on ${subject}: not JSON`, { cause });
    }
    if (isErrorReply(body)) throw errorFromReply(body);
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new InternalError(`malformed reply on ${subject}: ${formatIssues(parsed.error.issues)}`, {
        cause: parsed.error,
      });
    }
    return parsed.data;
  }
}

/** What a failed `nc.request` means for the caller. */
function requestFailure(subject: string, timeoutMs: number, cause: unknown): AggError {
  if (cause instanceof RequestError && cause.isNoResponders()) {
    return new UnavailableError(`no engine is answering on ${subject}`, { cause });
  }
  if (cause instanceof TimeoutError || (cause instanceof Error && cause.cause instanceof TimeoutError)) {
    return new UnavailableError(`no reply on ${subject} within ${timeoutMs} ms`, { cause });
  }
  if (cause instanceof ClosedConnectionError || cause instanceof DrainingConnectionError) {
    return new UnavailableError(`cannot request ${subject}: the NATS connection is closed`, { cause });
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return new UnavailableError(`request on ${subject} failed: ${message}`, { cause });
}

/** The `agg.status` object inside an event (the event without its `type`). */
function statusOf(event: BatchEvent): BatchStatus {
  const { type: _type, ...status } = event;
  return status;
}

/**
 * A subscription turned into an async iterable of one batch's events.
 * Messages are taken by callback (not by the subscription's own iterator),
 * so buffering and filtering happen here and a slow reader blocks nothing.
 */
class BatchEventStream implements BatchWatch {
  private readonly sub: Subscription;
  private readonly buffer: BatchEvent[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;
  private iterated = false;
  private onAbort: (() => void) | undefined;

  constructor(
    nc: NatsConnection,
    private readonly subjects: Subjects,
    subject: string,
    private followed: string | undefined,
    private readonly options: WatchOptions,
  ) {
    this.sub = nc.subscribe(subject, { callback: (err, msg) => (err ? this.fail(err) : this.receive(msg)) });
    // The subscription ends with the connection: end the iteration instead of hanging it.
    void this.sub.closed.then((reason) => {
      if (!this.ended) {
        this.fail(reason instanceof Error ? reason : new UnavailableError("the NATS subscription closed"));
      }
    });
    if (options.signal) {
      if (options.signal.aborted) this.stop();
      else {
        this.onAbort = () => this.stop();
        options.signal.addEventListener("abort", this.onAbort, { once: true });
      }
    }
  }

  get batchId(): string | undefined {
    return this.followed;
  }

  /** From now on deliver only `batchId`'s events; drop what was kept of other batches. */
  follow(batchId: string): void {
    this.followed = batchId;
    const kept = this.buffer.splice(0).filter((e) => e.batchId === batchId);
    this.buffer.push(...kept);
    if (kept.some((e) => e.type === "final")) this.end();
    this.wake?.();
  }

  stop(): void {
    this.buffer.length = 0;
    this.end();
  }

  private receive(msg: Msg): void {
    if (this.ended) return;
    let event: BatchEvent;
    try {
      const parsed = BatchEventSchema.safeParse(JSON.parse(new TextDecoder().decode(msg.data)));
      // An event type this version does not know (a newer engine) is skipped, never fatal.
      if (!parsed.success) return;
      event = parsed.data;
    } catch {
      return;
    }
    const subjectBatch = this.subjects.batchIdOf(msg.subject);
    if (subjectBatch !== undefined && subjectBatch !== event.batchId) return;
    if (this.followed !== undefined && event.batchId !== this.followed) return;
    if (this.buffer.length >= MAX_BUFFERED_EVENTS) {
      const i = this.buffer.findIndex((e) => e.type === "progress");
      if (i >= 0) this.buffer.splice(i, 1);
    }
    this.buffer.push(event);
    if (this.followed !== undefined && event.type === "final") this.end();
    this.wake?.();
  }

  private fail(err: Error): void {
    if (this.ended) return;
    this.failure = err;
    this.end();
  }

  private end(): void {
    if (!this.ended) {
      this.ended = true;
      if (!this.sub.isClosed()) this.sub.unsubscribe();
      if (this.onAbort) this.options.signal?.removeEventListener("abort", this.onAbort);
    }
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<BatchEvent> {
    if (this.iterated) throw new InternalError("a BatchWatch can be iterated only once");
    this.iterated = true;
    while (true) {
      const event = this.followed === undefined ? undefined : this.buffer.shift();
      if (event) {
        yield event;
        if (event.type === "final") return;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}
