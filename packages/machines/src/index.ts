/**
 * The engine's actors as pure XState machines: every piece of I/O (planning,
 * writing days, acking jobs, publishing on NATS) is injected by the engine with
 * `machine.provide(...)`, so the machines run under simulated time in tests.
 */
export {
  type BatchCancelEvent,
  type BatchCoordinatorContext,
  type BatchCoordinatorEvent,
  type BatchCoordinatorInput,
  type BatchCoordinatorSnapshot,
  type BatchState,
  type BatchStatus,
  batchCoordinatorMachine,
  batchStatusOf,
  type ReportedUser,
  type UserReportedEvent,
  type UsersReportedEvent,
} from "./batch-coordinator.machine";
export {
  type DelayedTransitionDescription,
  describeMachine,
  type MachineDescription,
  type StateDescription,
  type TransitionDescription,
} from "./describe-machine";
export { NotProvidedError } from "./not-provided-error";
export { ReportLedger } from "./report-ledger";
export {
  type AggregateDaysEvent,
  type AggregateDaysInput,
  type AggregationFailedEvent,
  type AggregationFinishedEvent,
  type CancelEvent,
  type CloseJobChannelParams,
  type DayPersistedEvent,
  type JobPlan,
  type JobReceivedEvent,
  type PendingOutcome,
  type PlanJobInput,
  type PlannedDays,
  type ReportOutcomeInput,
  type UserAggregatorContext,
  type UserAggregatorEvent,
  type UserAggregatorInput,
  type UserAggregatorOutput,
  type UserAggregatorSnapshot,
  type UserJob,
  type UserOutcome,
  userAggregatorMachine,
} from "./user-aggregator.machine";
