/**
 * Vitest setup file: after each test file, deletes the JetStream streams and KV
 * buckets its engines created under the prefixes it was handed (`uniquePrefix`),
 * so test runs leave nothing on a shared NATS server. Registered first, this
 * `afterAll` runs last, after the file's own hooks have stopped its engines.
 */
import { createResourceNames, engineStreamNames } from "@agg/protocol";
import { connect } from "@nats-io/transport-node";
import { afterAll } from "vitest";
import { issuedPrefixes, TEST_NATS_URL } from "./contract-client";

afterAll(async () => {
  const prefixes = issuedPrefixes.splice(0);
  if (prefixes.length === 0) return;
  let nc: Awaited<ReturnType<typeof connect>>;
  try {
    nc = await connect({ servers: TEST_NATS_URL.split(","), timeout: 2_000 });
  } catch {
    return; // No server here (a test of an unreachable NATS): nothing was created on it.
  }
  try {
    for (const prefix of prefixes) {
      const streams = engineStreamNames(createResourceNames(prefix));
      for (const stream of streams) {
        // A stream never created answers with an API error: nothing to delete.
        await nc.request(`$JS.API.STREAM.DELETE.${stream}`, "", { timeout: 2_000 }).catch(() => undefined);
      }
    }
  } finally {
    await nc.close();
  }
});
