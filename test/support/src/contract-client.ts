import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";

/** The NATS server the tests use: `NATS_URL`, else the machine's default. */
export const TEST_NATS_URL = process.env.NATS_URL || "nats://127.0.0.1:4222";

/** Prefixes handed out in this test file, whose streams are deleted after it (`stream-cleanup.ts`). */
export const issuedPrefixes: string[] = [];

/** A unique subject prefix per test file, so tests never see each other's engines or streams. */
export function uniquePrefix(label: string): string {
  const prefix = `t${label.replace(/[^A-Za-z0-9]/g, "")}${Math.random().toString(36).slice(2, 8)}`;
  issuedPrefixes.push(prefix);
  return prefix;
}

/**
 * Talks to an engine through CONTRACT.md only: raw NATS requests with JSON
 * payloads, exactly as an outside program would. Deliberately not the typed
 * client of packages/protocol, so these tests check the wire contract.
 */
export class ContractClient {
  private constructor(
    readonly nc: NatsConnection,
    readonly prefix: string,
  ) {}

  static async connect(prefix: string, servers = TEST_NATS_URL): Promise<ContractClient> {
    return new ContractClient(await connect({ servers: servers.split(",") }), prefix);
  }

  /** Sends raw bytes (or a JSON value) and returns the parsed reply. */
  async call(subject: string, payload: unknown, timeoutMs = 5_000): Promise<Record<string, unknown>> {
    const data = payload instanceof Uint8Array ? payload : new TextEncoder().encode(JSON.stringify(payload));
    const reply = await this.nc.request(`${this.prefix}.${subject}`, data, { timeout: timeoutMs });
    return reply.json<Record<string, unknown>>();
  }

  /**
   * Requests a batch and waits for its final event (subscribing first, so a fast
   * batch cannot finish unseen). Returns the acceptance, the progress events and the final event.
   */
  async runBatch(
    payload: Record<string, unknown>,
    timeoutMs = 60_000,
  ): Promise<{
    accepted: Record<string, unknown>;
    events: Record<string, unknown>[];
    final: Record<string, unknown>;
  }> {
    const events: Record<string, unknown>[] = [];
    const sub = this.nc.subscribe(`${this.prefix}.batch.*`);
    const accepted = await this.call("request", payload);
    if (typeof accepted.batchId !== "string") throw new Error(`request refused: ${JSON.stringify(accepted)}`);
    const timer = setTimeout(() => sub.unsubscribe(), timeoutMs);
    let final: Record<string, unknown> | undefined;
    for await (const m of sub) {
      if (m.subject !== `${this.prefix}.batch.${accepted.batchId}`) continue;
      const event = m.json<Record<string, unknown>>();
      events.push(event);
      if (event.type === "final") {
        final = event;
        // Linger briefly: a second final event would be a bug the caller can see.
        setTimeout(() => sub.unsubscribe(), 500);
      }
    }
    clearTimeout(timer);
    if (!final) throw new Error(`batch ${accepted.batchId} did not finish within ${timeoutMs} ms`);
    return { accepted, events, final };
  }

  /** Requests a batch and returns its acceptance, collecting its events for {@link waitForFinal}. */
  async runBatchStart(payload: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const sub = this.nc.subscribe(`${this.prefix}.batch.*`, {
      callback: (_e, m) => {
        const event = m.json<Record<string, unknown>>();
        if (event.type === "final" && typeof event.batchId === "string")
          this.finals.set(event.batchId, event);
      },
    });
    this.watchers.push(sub);
    const accepted = await this.call("request", payload);
    if (typeof accepted.batchId !== "string") throw new Error(`request refused: ${JSON.stringify(accepted)}`);
    return accepted;
  }

  /** Waits for the final event of a batch started with {@link runBatchStart} (or its terminal status). */
  async waitForFinal(batchId: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const final = this.finals.get(batchId);
      if (final) return final;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`batch ${batchId} did not finish within ${timeoutMs} ms`);
  }

  private readonly finals = new Map<string, Record<string, unknown>>();
  private readonly watchers: { unsubscribe(): void }[] = [];

  async close(): Promise<void> {
    for (const w of this.watchers) w.unsubscribe();
    await this.nc.close();
  }
}
