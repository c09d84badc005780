import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type HeapProfileNode,
  heapSamplerLaunch,
  startHeapSampling,
  stopHeapSampling,
  summarizeHeapProfile,
} from "../src/heap-profile";

const XSTATE = "file:///repo/node_modules/.pnpm/xstate@5.33.3/node_modules/xstate/dist/raise.cjs.js";
const OURS = "file:///repo/services/engine/src/user-work.ts";

function frame(functionName: string, url: string, selfSize: number, children: HeapProfileNode[] = []) {
  return { callFrame: { functionName, url, lineNumber: 9 }, selfSize, children };
}

describe("summarizeHeapProfile", () => {
  it("counts native allocations for the area of the JavaScript that called them", () => {
    const summary = summarizeHeapProfile({
      head: frame("(root)", "", 0, [
        frame("microstep", XSTATE, 100, [frame("Set", "", 50)]),
        frame("aggregateUserDays", OURS, 30, [frame("sort", "", 20)]),
        frame("(V8 API)", "", 10),
      ]),
    });
    expect(summary.totalBytes).toBe(210);
    expect(summary.areas.map((a) => [a.name, a.bytes])).toEqual([
      ["xstate", 150],
      ["@agg/engine", 50],
      ["(V8 API)", 10],
    ]);
    expect(summary.areas[0]!.share).toBeCloseTo(150 / 210);
    expect(summary.functions.map((f) => [f.name, f.bytes])).toEqual([
      ["microstep xstate/dist/raise.cjs.js:10", 100],
      ["Set (native, from xstate)", 50],
      ["aggregateUserDays services/engine/src/user-work.ts:10", 30],
      ["sort (native, from @agg/engine)", 20],
      ["(V8 API) (native, from (V8 API))", 10],
    ]);
  });

  it("keeps the `top` largest functions", () => {
    const summary = summarizeHeapProfile(
      { head: frame("(root)", "", 0, [frame("a", OURS, 3), frame("b", OURS, 1), frame("c", OURS, 2)]) },
      2,
    );
    expect(summary.functions.map((f) => f.bytes)).toEqual([3, 2]);
    expect(summary.totalBytes).toBe(6);
  });
});

describe("heap-sampler.cjs in a real process", () => {
  it("samples between two SIGUSR2s, garbage included, and leaves the process running", async () => {
    const dir = mkdtempSync(join(tmpdir(), "agg-heap-test-"));
    const file = join(dir, "run.heapprofile");
    const launch = heapSamplerLaunch(file);
    // Allocates short-lived objects when told to, so they are garbage by the time sampling stops.
    const script = `
      // A ring, so the objects escape (V8 would not allocate them at all otherwise) and most die.
      const ring = new Array(1000);
      function allocateGarbage() {
        let kept = 0;
        for (let i = 0; i < 200000; i++) kept += (ring[i % 1000] = [i, i + 1, { i }]).length;
        return kept;
      }
      process.stdin.on("data", () => process.stdout.write("allocated " + allocateGarbage() + "\\n"));
      process.stdout.write("ready\\n");
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, [...launch.nodeArgs, "-e", script], {
      env: { ...process.env, ...launch.env },
      stdio: ["pipe", "pipe", "inherit"],
    });
    try {
      child.stdout!.setEncoding("utf8");
      await once(child.stdout!, "data");
      await startHeapSampling(child.pid!);
      child.stdin!.write("go\n");
      const [line] = (await once(child.stdout!, "data")) as [string];
      expect(line).toMatch(/^allocated 600000/);
      const summary = summarizeHeapProfile(await stopHeapSampling(child.pid!, file));
      // 200 000 arrays and objects: several MB, all of it collectable.
      expect(summary.totalBytes).toBeGreaterThan(2_000_000);
      const own = summary.functions.find((f) => f.name.startsWith("allocateGarbage "));
      expect(own?.share).toBeGreaterThan(0.5);
      expect(child.exitCode).toBeNull();
      expect(child.signalCode).toBeNull();
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
