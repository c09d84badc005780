/** What /proc tells about a process on this machine: CPU time and memory. */
import { readFileSync } from "node:fs";

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime of a process in seconds, or null when it is gone or unreadable. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** `VmRSS` and `VmHWM` (peak RSS) of a process in MB, or null when it is gone. */
export function processMemoryMb(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

/**
 * Samples a process's RSS every `everyMs` and keeps the peak since the last
 * `reset()`, so each phase of the benchmark gets its own peak.
 */
export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    everyMs = 50,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  sample(): void {
    const m = processMemoryMb(this.pid);
    if (m && m.rss > this.peak) this.peak = m.rss;
  }

  /** Peak RSS in MB since the last reset, then starts over. */
  takePeak(): number {
    this.sample();
    const peak = this.peak;
    this.peak = 0;
    return Math.round(peak);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
