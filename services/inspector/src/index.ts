/**
 * The state inspector (`pnpm inspector`, issue 5): every live actor of every
 * engine instance on one page, its API, and the pieces tests start directly.
 *
 * @packageDocumentation
 */
export {
  type ClusterListener,
  ClusterWatch,
  type ClusterWatchOptions,
  type InspectionDelivery,
  type InspectOutcome,
  type InspectorStats,
  NO_INSTANCES,
} from "./cluster-watch";
export { createInspectorServer, type InspectorServer, type InspectorServerOptions } from "./http-server";
export {
  type DecodedInspectionMessage,
  decodeInspectionMessage,
  MAX_EVENTS_PER_MESSAGE,
  type TimedActorEvent,
} from "./inspection-message";
export {
  DEFAULT_INSPECTOR_HOST,
  DEFAULT_INSPECTOR_PORT,
  type InspectorConfig,
  type InspectorEnv,
  isLoopback,
  loadInspectorConfig,
} from "./inspector-config";
export { createJsonLog, type JsonLog, silentLog } from "./json-log";
export { renderPage } from "./page/render-page";
export { type RunningInspector, type StartInspectorOptions, startInspector } from "./start-inspector";
export { type TimelineEntry, TimelineStore, type TimelineStoreOptions } from "./timeline-store";
