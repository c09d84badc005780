import { afterEach, beforeEach, vi } from "vitest";

/**
 * Mutes `console.warn` around each test of the calling suite: XState warns
 * about every event sent to a stopped actor, and model-based tests send many
 * on purpose.
 */
export function silenceXStateWarnings(): void {
  let warn: ReturnType<typeof vi.spyOn> | undefined;
  beforeEach(() => {
    warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  });
  afterEach(() => warn?.mockRestore());
}
