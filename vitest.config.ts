import { defineConfig } from "vitest/config";

// One runner for the whole workspace: unit tests live next to their package,
// tests that cross packages (end-to-end, cluster) live in test/.
export default defineConfig({
  test: {
    include: [
      "packages/*/test/**/*.test.ts",
      "services/*/test/**/*.test.ts",
      "test/**/*.test.ts",
      "bench/test/**/*.test.ts",
    ],
    // Deletes each test file's JetStream streams after it: nothing left on a shared server.
    setupFiles: ["test/support/src/stream-cleanup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
