/** What /proc tells about a process on this machine: CPU time and memory. */
import { readdirSync, readFileSync } from "node:fs";

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime of a process in seconds, or null when it is gone or unreadable. */
export function processCpuSeconds(pid: number): number | null {
  try {
    // utime and stime are fields 14 and 15 of the line.
    const fields = statFields(readFileSync(`/proc/${pid}/stat`, "utf8"));
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * Where a process's CPU went and how much memory it touched for the first
 * time: the main thread apart from the others (for node, V8's compiler and GC
 * helpers and libuv's pool), and its minor page faults. With few heartbeats
 * a day, the first nightly runs after a full run spend more of both than
 * later ones (BENCHMARKS.md, stop 22), which the total CPU alone does not show.
 */
export interface ProcessCounters {
  readonly mainThreadCpuS: number;
  readonly otherThreadsCpuS: number;
  readonly minorFaults: number;
}

/** {@link ProcessCounters} of a process now, or null when it is gone or unreadable. */
export function processCounters(pid: number): ProcessCounters | null {
  try {
    let mainTicks = 0;
    let otherTicks = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const fields = statFields(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
      const ticks = Number(fields[11]) + Number(fields[12]);
      if (tid === String(pid)) mainTicks += ticks;
      else otherTicks += ticks;
    }
    // minflt is field 10 of /proc/<pid>/stat, the process's (all threads, live and exited).
    const minorFaults = Number(statFields(readFileSync(`/proc/${pid}/stat`, "utf8"))[7]);
    return {
      mainThreadCpuS: mainTicks / CLOCK_TICKS,
      otherThreadsCpuS: otherTicks / CLOCK_TICKS,
      minorFaults,
    };
  } catch {
    // A thread can exit between the listing and its read: report nothing rather than half.
    return null;
  }
}

/** What happened between two {@link processCounters} readings; null when either is missing. */
export function countersBetween(
  before: ProcessCounters | null,
  after: ProcessCounters | null,
): ProcessCounters | null {
  if (!before || !after) return null;
  return {
    mainThreadCpuS: after.mainThreadCpuS - before.mainThreadCpuS,
    // Threads that exited in between take their CPU with them: never below zero.
    otherThreadsCpuS: Math.max(0, after.otherThreadsCpuS - before.otherThreadsCpuS),
    minorFaults: after.minorFaults - before.minorFaults,
  };
}

/** The fields of a `stat` line after the parenthesised command name (which may hold spaces). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
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
