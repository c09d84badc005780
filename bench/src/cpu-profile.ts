/** Where an engine's CPU time went, from the `.cpuprofile` that `node --cpu-prof` writes at exit. */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time of one function or one area, in ms and as a share of the profile. */
export interface ProfileLine {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** Wall time the profile covers (process start to exit), ms. */
  readonly totalMs: number;
  /** Self time by area: our packages, each third-party package, node internals, GC, idle. */
  readonly areas: ProfileLine[];
  /** The functions with the most self time. */
  readonly functions: ProfileLine[];
}

/** Summarises the newest `.cpuprofile` in `dir`, or returns null when there is none. */
export function summarizeCpuProfile(dir: string, top = 25): ProfileSummary | null {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .sort();
  const file = files[files.length - 1];
  if (!file) return null;
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totalUs = Math.max(1, profile.endTime - profile.startTime);
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const area = areaOf(frame.url, frame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : "";
    const name = `${frame.functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const lines = (m: Map<string, number>, n: number): ProfileLine[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: us / totalUs }));
  return {
    file: join(dir, file),
    totalMs: Math.round(totalUs / 1000),
    areas: lines(areas, 30),
    functions: lines(functions, top),
  };
}

/** Which part of the program a frame belongs to (also used by `heap-profile.ts`). */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pnpm) return pnpm[1]!;
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module) return module[1]!;
  const ours = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (ours) return `@agg/${ours[2]}`;
  if (url.startsWith("node:")) return "node internals";
  return basename(url);
}

/** A frame's file, short: from `packages/` or `services/`, or from the package's name. */
export function shortUrl(url: string): string {
  const ours = /\/((?:packages|services)\/.*)$/.exec(url);
  if (ours) return ours[1]!;
  const module = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(.*)$/.exec(url);
  if (module) return module[1]!;
  return url.replace(/^file:\/\//, "");
}
