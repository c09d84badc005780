import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { countersBetween, processCounters } from "../src/proc";

/**
 * A child that waits for a line on stdin, then burns `ms` of CPU on its main
 * thread and touches `mb` of new memory, then says "done".
 */
function busyChild() {
  const script = `
    process.stdin.once("data", (line) => {
      const [ms, mb] = String(line).trim().split(" ").map(Number);
      // Until the child has used \`ms\` of CPU, however long a busy machine makes that take.
      const start = process.cpuUsage();
      let x = 0;
      while ((process.cpuUsage(start).user + process.cpuUsage(start).system) / 1000 < ms) {
        for (let i = 0; i < 10000; i++) x += Math.sqrt(x + 1);
      }
      const touched = Buffer.alloc(mb * 1024 * 1024, 1);
      process.stdout.write("done " + (x > 0) + " " + touched.length + "\\n");
    });
    setInterval(() => {}, 1000);`;
  return spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
}

describe("processCounters", () => {
  it("puts a busy main thread's CPU on the main thread and counts the memory it touched", async () => {
    const child = busyChild();
    try {
      const pid = child.pid!;
      // Let it start up, so that its start-up is not counted.
      await new Promise((r) => setTimeout(r, 300));
      const before = processCounters(pid);
      child.stdin!.write("400 32\n");
      await once(child.stdout!, "data");
      const between = countersBetween(before, processCounters(pid));
      expect(between).not.toBeNull();
      // 400 ms of CPU spent spinning, nearly all of it on the main thread (ticks of 10 ms).
      expect(between!.mainThreadCpuS).toBeGreaterThanOrEqual(0.3);
      expect(between!.otherThreadsCpuS).toBeLessThan(between!.mainThreadCpuS);
      // 32 MB filled: at least a few thousand 4 kB pages touched for the first time.
      expect(between!.minorFaults).toBeGreaterThan(2_000);
    } finally {
      child.kill();
    }
  });

  it("is null for a process that does not exist, and so is the difference", () => {
    // PIDs are at most 2^22 on Linux.
    const gone = processCounters(2 ** 23);
    expect(gone).toBeNull();
    expect(countersBetween(gone, { mainThreadCpuS: 1, otherThreadsCpuS: 0, minorFaults: 0 })).toBeNull();
  });
});
