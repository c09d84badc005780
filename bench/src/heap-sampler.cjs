// Loaded into an engine by `pnpm bench --heap-profile` (`node --require`):
// samples what the engine allocates between two SIGUSR2s from the bench,
// objects already collected included (a run's garbage is the point), and
// writes the profile to $AGG_BENCH_HEAP_PROFILE in the `.heapprofile` format
// that Chrome DevTools opens. Plain CommonJS because `--require` loads it
// before anything else, under both the bundled engine and tsx.
"use strict";

const { Session } = require("node:inspector");
const { renameSync, writeFileSync } = require("node:fs");

const out = process.env.AGG_BENCH_HEAP_PROFILE;
if (out) {
  const session = new Session();
  session.connect();
  let state = "idle";
  // Installing the handler also keeps SIGUSR2 from ending the process, its default.
  process.on("SIGUSR2", () => {
    if (state === "idle") {
      state = "sampling";
      session.post("HeapProfiler.enable");
      session.post("HeapProfiler.startSampling", {
        // 4 KB between samples: fine enough for allocations of a few hundred bytes a job.
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    } else if (state === "sampling") {
      state = "done";
      session.post("HeapProfiler.stopSampling", (error, result) => {
        const text = error
          ? JSON.stringify({ error: String(error.message ?? error) })
          : JSON.stringify(result.profile);
        // Written whole, then renamed: the bench polls for the file.
        writeFileSync(`${out}.partial`, text);
        renameSync(`${out}.partial`, out);
      });
    }
  });
}
