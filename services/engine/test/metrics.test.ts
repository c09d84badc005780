/**
 * The engine's Prometheus metrics (issue 7, item 6): the methods move the
 * right series, and what the registry renders is valid text exposition format.
 */
import { describe, expect, it } from "vitest";
import { EngineMetrics } from "../src/metrics";

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

interface Exposition {
  readonly types: Map<string, string>;
  readonly samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/g;

/** A strict reader of the Prometheus text format (0.0.4): throws on any line it does not understand. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) continue;
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(" ");
      expect(["counter", "gauge", "histogram", "summary", "untyped"]).toContain(type);
      types.set(name!, type!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const raw = m[2] ?? "";
    let consumed = 0;
    for (const l of raw.matchAll(LABEL)) {
      labels[l[1]!] = l[2]!;
      consumed += l[0].length;
    }
    if (consumed !== raw.length) throw new Error(`malformed labels: ${JSON.stringify(line)}`);
    const value = m[3] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[3]);
    if (Number.isNaN(value)) throw new Error(`not a number: ${JSON.stringify(line)}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { types, samples };
}

function value(exp: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  return exp.samples.find(
    (s) =>
      s.name === name &&
      Object.keys(labels).length === Object.keys(s.labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

async function scrape(metrics: EngineMetrics): Promise<Exposition> {
  return parseExposition(await metrics.registry.metrics());
}

describe("EngineMetrics", () => {
  it("exposes every metric, typed, with the labelled counters at 0 from the start", async () => {
    const exp = await scrape(new EngineMetrics());
    expect(Object.fromEntries(exp.types)).toEqual({
      agg_batches_total: "counter",
      agg_users_total: "counter",
      agg_user_aggregation_seconds: "histogram",
      agg_batch_duration_seconds: "histogram",
      agg_days_written_total: "counter",
      agg_heartbeats_read_total: "counter",
      agg_redeliveries_total: "counter",
      agg_dead_letters_total: "counter",
      agg_nats_reconnects_total: "counter",
      agg_up: "gauge",
      agg_leases_held: "gauge",
      agg_user_actors: "gauge",
      agg_batches_coordinated: "gauge",
      agg_inspection_watched: "gauge",
    });
    for (const state of ["accepted", "completed", "failed", "cancelled"])
      expect(value(exp, "agg_batches_total", { state })).toBe(0);
    for (const outcome of ["done", "failed", "skipped"]) {
      expect(value(exp, "agg_users_total", { outcome })).toBe(0);
      expect(value(exp, "agg_user_aggregation_seconds_count", { outcome })).toBe(0);
    }
    expect(value(exp, "agg_up")).toBe(0);
  });

  it("counts what the engine reports", async () => {
    const metrics = new EngineMetrics();
    metrics.batchAccepted();
    metrics.batchAccepted();
    metrics.batchFinished("completed", 3.2);
    metrics.batchFinished("failed");
    metrics.userFinished("done", 0.04);
    metrics.userFinished("done", 7);
    metrics.userFinished("failed", 0.2);
    metrics.userFinished("skipped");
    metrics.usersSkipped(3);
    metrics.daysWritten(12);
    metrics.daysWritten(0);
    metrics.heartbeatsRead(4_000);
    metrics.redelivered();
    metrics.deadLettered("jobs");
    metrics.deadLettered("jobs");
    metrics.deadLettered("reports");
    metrics.natsReconnected();
    metrics.setUp(true);

    const exp = await scrape(metrics);
    expect(value(exp, "agg_batches_total", { state: "accepted" })).toBe(2);
    expect(value(exp, "agg_batches_total", { state: "completed" })).toBe(1);
    expect(value(exp, "agg_batches_total", { state: "failed" })).toBe(1);
    expect(value(exp, "agg_batches_total", { state: "cancelled" })).toBe(0);
    expect(value(exp, "agg_users_total", { outcome: "done" })).toBe(2);
    expect(value(exp, "agg_users_total", { outcome: "failed" })).toBe(1);
    expect(value(exp, "agg_users_total", { outcome: "skipped" })).toBe(4);
    expect(value(exp, "agg_days_written_total")).toBe(12);
    expect(value(exp, "agg_heartbeats_read_total")).toBe(4_000);
    expect(value(exp, "agg_redeliveries_total")).toBe(1);
    expect(value(exp, "agg_dead_letters_total", { kind: "jobs" })).toBe(2);
    expect(value(exp, "agg_dead_letters_total", { kind: "reports" })).toBe(1);
    expect(value(exp, "agg_nats_reconnects_total")).toBe(1);
    expect(value(exp, "agg_up")).toBe(1);

    // Histograms: durations only where given; buckets are cumulative.
    expect(value(exp, "agg_user_aggregation_seconds_count", { outcome: "done" })).toBe(2);
    expect(value(exp, "agg_user_aggregation_seconds_sum", { outcome: "done" })).toBeCloseTo(7.04);
    expect(value(exp, "agg_user_aggregation_seconds_bucket", { outcome: "done", le: "0.05" })).toBe(1);
    expect(value(exp, "agg_user_aggregation_seconds_bucket", { outcome: "done", le: "10" })).toBe(2);
    expect(value(exp, "agg_user_aggregation_seconds_bucket", { outcome: "done", le: "+Inf" })).toBe(2);
    expect(value(exp, "agg_user_aggregation_seconds_count", { outcome: "skipped" })).toBe(0);
    expect(value(exp, "agg_batch_duration_seconds_count", { state: "completed" })).toBe(1);
    expect(value(exp, "agg_batch_duration_seconds_count", { state: "failed" })).toBe(0);
  });

  it("reads the gauges from their sources at every scrape", async () => {
    let leases = 3;
    const metrics = new EngineMetrics({
      leasesHeld: () => leases,
      userActors: () => 2,
      batchesCoordinated: () => 1,
      inspectionWatched: () => 1,
    });
    let exp = await scrape(metrics);
    expect(value(exp, "agg_inspection_watched")).toBe(1);
    expect(value(exp, "agg_leases_held")).toBe(3);
    expect(value(exp, "agg_user_actors")).toBe(2);
    expect(value(exp, "agg_batches_coordinated")).toBe(1);
    leases = 0;
    exp = await scrape(metrics);
    expect(value(exp, "agg_leases_held")).toBe(0);
  });

  it("keeps each instance's metrics on its own registry", async () => {
    const a = new EngineMetrics();
    const b = new EngineMetrics();
    a.batchAccepted();
    expect(value(await scrape(a), "agg_batches_total", { state: "accepted" })).toBe(1);
    expect(value(await scrape(b), "agg_batches_total", { state: "accepted" })).toBe(0);
    expect(a.registry.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
