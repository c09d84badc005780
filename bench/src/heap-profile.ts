/**
 * What an engine allocates during one batch (`pnpm bench --heap-profile`):
 * `heap-sampler.cjs`, preloaded into the engine, samples its allocations
 * between two SIGUSR2s, garbage included, and this module turns the profile
 * into bytes by area and by function.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "./bench-database";
import { areaOf, shortUrl } from "./cpu-profile";

/** One node of V8's sampling heap profile (`HeapProfiler.SamplingHeapProfileNode`). */
export interface HeapProfileNode {
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  /** Bytes of the samples taken in this frame itself. */
  readonly selfSize: number;
  readonly children?: readonly HeapProfileNode[];
}

export interface HeapProfile {
  readonly head: HeapProfileNode;
}

/** Bytes allocated by one area or one function, and their share of the whole. */
export interface AllocationLine {
  readonly name: string;
  readonly bytes: number;
  readonly share: number;
}

export interface HeapSummary {
  readonly totalBytes: number;
  /**
   * By area (our packages, each third-party package, node internals). An
   * allocation made by native code (`new Set`, `Array.prototype.sort`, ...)
   * counts for the area of the JavaScript that called it.
   */
  readonly areas: AllocationLine[];
  /** The functions that allocated most themselves (native code as its own line). */
  readonly functions: AllocationLine[];
}

/** The node arguments and environment that make an engine load the sampler, writing to `file`. */
export function heapSamplerLaunch(file: string): { nodeArgs: string[]; env: Record<string, string> } {
  return {
    nodeArgs: ["--require", join(repoRoot, "bench/src/heap-sampler.cjs")],
    env: { AGG_BENCH_HEAP_PROFILE: file },
  };
}

/**
 * Starts the sampler of an engine launched with {@link heapSamplerLaunch}.
 * Never call it for another process: SIGUSR2 ends a Node process that has no
 * handler for it.
 */
export async function startHeapSampling(pid: number): Promise<void> {
  process.kill(pid, "SIGUSR2");
  // The engine is idle here: its handler runs at once, and starting is synchronous in it.
  await sleep(100);
}

/**
 * Stops the sampler and reads what it wrote to `file`.
 * @throws when the profile does not appear within `timeoutMs`, or the sampler reported an error.
 */
export async function stopHeapSampling(pid: number, file: string, timeoutMs = 30_000): Promise<HeapProfile> {
  process.kill(pid, "SIGUSR2");
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no heap profile in ${file} after ${timeoutMs} ms`);
    await sleep(50);
  }
  const parsed = JSON.parse(readFileSync(file, "utf8")) as HeapProfile | { error: string };
  if ("error" in parsed) throw new Error(`the engine's heap sampler failed: ${parsed.error}`);
  return parsed;
}

/** Bytes by area and by function; `top` functions at most. */
export function summarizeHeapProfile(profile: HeapProfile, top = 15): HeapSummary {
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  const add = (m: Map<string, number>, key: string, bytes: number) => m.set(key, (m.get(key) ?? 0) + bytes);
  // Iterative: a deep async stack must not overflow this one.
  const stack: { node: HeapProfileNode; callerArea: string }[] = [
    { node: profile.head, callerArea: "(root)" },
  ];
  while (stack.length > 0) {
    const { node, callerArea } = stack.pop()!;
    const { url, functionName, lineNumber } = node.callFrame;
    // A native frame is its caller's; V8's own top-level entries ("(V8 API)", ...) are theirs.
    const area = url
      ? areaOf(url, functionName)
      : functionName.startsWith("(") && callerArea === "(root)"
        ? functionName
        : callerArea;
    if (node.selfSize > 0) {
      total += node.selfSize;
      add(areas, area, node.selfSize);
      const name = url
        ? `${functionName || "(anonymous)"} ${shortUrl(url)}:${lineNumber + 1}`
        : `${functionName || "(native)"} (native, from ${area})`;
      add(functions, name, node.selfSize);
    }
    for (const child of node.children ?? []) stack.push({ node: child, callerArea: area });
  }
  const lines = (m: Map<string, number>, n: number): AllocationLine[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, bytes]) => ({ name, bytes, share: total > 0 ? bytes / total : 0 }));
  return { totalBytes: total, areas: lines(areas, 20), functions: lines(functions, top) };
}
