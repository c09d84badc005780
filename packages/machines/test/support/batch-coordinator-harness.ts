import { createActor, SimulatedClock } from "xstate";
import { type BatchCoordinatorInput, type BatchStatus, batchCoordinatorMachine } from "../../src/index";

/**
 * A batch coordinator with counting `publishProgress` / `publishFinalEvent`
 * and a simulated clock.
 */
export function createBatchCoordinatorHarness(input: BatchCoordinatorInput) {
  const clock = new SimulatedClock();
  const progress: BatchStatus[] = [];
  const finalEvents: BatchStatus[] = [];
  const machine = batchCoordinatorMachine.provide({
    actions: {
      publishProgress: (_, status) => {
        progress.push(status);
      },
      publishFinalEvent: (_, status) => {
        finalEvents.push(status);
      },
    },
  });
  const actor = createActor(machine, { input, clock });
  return { actor, clock, progress, finalEvents };
}

export type BatchCoordinatorHarness = ReturnType<typeof createBatchCoordinatorHarness>;
