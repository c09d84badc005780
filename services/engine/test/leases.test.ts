/**
 * Leases on a real NATS server: the bucket's TTL follows the configuration, so
 * an instance never trusts a lease longer than NATS keeps it.
 */
import { randomBytes } from "node:crypto";
import { TEST_NATS_URL } from "@agg/test-support";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchLeaseKey, Leases } from "../src/leases";

describe("Leases", () => {
  let nc: NatsConnection;
  const bucket = `agg_test_leases_${randomBytes(4).toString("hex")}`;
  const log = pino({ level: "silent" });

  beforeAll(async () => {
    nc = await connect({ servers: TEST_NATS_URL });
  });
  afterAll(async () => {
    await new Kvm(nc)
      .open(bucket)
      .then((kv) => kv.destroy())
      .catch(() => undefined);
    await nc?.close();
  });

  it("gives an existing bucket the configured TTL, and a released lease passes to another instance", async () => {
    const first = await Leases.open(nc, { bucket, ttlMs: 5_000, replicas: 1, instance: "a", log });
    await first.close();
    const second = await Leases.open(nc, { bucket, ttlMs: 2_000, replicas: 1, instance: "b", log });
    expect((await (await new Kvm(nc).open(bucket)).status()).ttl).toBe(2_000);

    const key = batchLeaseKey("alice");
    const lease = await second.tryAcquire(key, () => undefined);
    expect(lease).not.toBeNull();
    const third = await Leases.open(nc, { bucket, ttlMs: 2_000, replicas: 1, instance: "c", log });
    expect(await third.tryAcquire(key, () => undefined)).toBeNull();
    expect(await third.holder(key)).toBe("b");
    await second.release(lease!);
    // Released by purging: no delete marker is left, so the next `create` is a single put.
    expect(await (await new Kvm(nc).open(bucket)).get(key)).toBeNull();
    expect(await third.tryAcquire(key, () => undefined)).not.toBeNull();
    await second.close();
    await third.close();
  });

  it("frees a released lease at once, even when the release races a renewal", async () => {
    const raced = `${bucket}_race`;
    const a = await Leases.open(nc, { bucket: raced, ttlMs: 5_000, replicas: 1, instance: "a", log });
    const b = await Leases.open(nc, { bucket: raced, ttlMs: 5_000, replicas: 1, instance: "b", log });
    try {
      const keys = Array.from({ length: 50 }, (_, i) => batchLeaseKey(`u${i}`));
      const leases = await Promise.all(keys.map((k) => a.tryAcquire(k, () => undefined)));
      // A renewal in flight (as its timer would start it) while every lease is released.
      const renewing = (a as unknown as { renewAll(): Promise<void> }).renewAll();
      await Promise.all(leases.map((l) => a.release(l!)));
      await renewing;
      // Released means free now, not after the TTL: no holder left, and another instance takes every key.
      const holders = await Promise.all(keys.map((k) => b.holder(k)));
      expect(holders.filter((h) => h !== null)).toEqual([]);
      const taken = await Promise.all(keys.map((k) => b.tryAcquire(k, () => undefined)));
      expect(taken.filter((l) => l === null)).toHaveLength(0);
    } finally {
      await a.close();
      await b.close();
      await new Kvm(nc).open(raced).then((kv) => kv.destroy());
    }
  });
});
