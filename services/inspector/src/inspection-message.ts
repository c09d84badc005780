import { type ActorEvent, ActorEventSchema } from "@agg/protocol";

/** An `ActorEvent` as the inspector keeps it: always stamped with the time it happened. */
export type TimedActorEvent = ActorEvent & { readonly at: number };

/** What one message on `<prefix>.x.inspect.events.<instance>` held, once checked. */
export interface DecodedInspectionMessage {
  /** The publishing instance, when the message names one. */
  readonly instance: string | undefined;
  /** The publisher's cumulative count of records it dropped (its rate limit), when given. */
  readonly droppedAtSource: number | undefined;
  /** The valid records, in order. */
  readonly events: readonly TimedActorEvent[];
  /** Records (or whole messages) that were not valid and were left out. */
  readonly malformed: number;
}

/** More records than this in one message is not a publisher of ours: the message is dropped whole. */
export const MAX_EVENTS_PER_MESSAGE = 20_000;

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Checks one inspection message. It accepts the engine's batches
 * (`{instance, seq, sentAt, dropped, events: ActorEvent[]}`) and a lone
 * `ActorEvent`; anything else (not UTF-8, not JSON, wrong shapes) is counted
 * as malformed and never thrown, so a bad publisher cannot break the page.
 *
 * @example
 * ```ts
 * decodeInspectionMessage(new TextEncoder().encode("{oops")); // { events: [], malformed: 1, ... }
 * ```
 */
export function decodeInspectionMessage(data: Uint8Array, receivedAt = Date.now()): DecodedInspectionMessage {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return { instance: undefined, droppedAtSource: undefined, events: [], malformed: 1 };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return rejected();
  const message = value as Record<string, unknown>;
  if (!("events" in message)) {
    // A lone ActorEvent.
    const event = checkEvent(message, receivedAt);
    return event
      ? { instance: instanceOf(event), droppedAtSource: undefined, events: [event], malformed: 0 }
      : rejected();
  }
  const raw = message.events;
  if (!Array.isArray(raw) || raw.length > MAX_EVENTS_PER_MESSAGE) return rejected();
  const events: TimedActorEvent[] = [];
  let malformed = 0;
  for (const item of raw) {
    const event = checkEvent(item, receivedAt);
    if (event) events.push(event);
    else malformed++;
  }
  return {
    instance: typeof message.instance === "string" ? message.instance : events[0] && instanceOf(events[0]),
    droppedAtSource:
      typeof message.dropped === "number" && Number.isFinite(message.dropped) && message.dropped >= 0
        ? message.dropped
        : undefined,
    events,
    malformed,
  };
}

function rejected(): DecodedInspectionMessage {
  return { instance: undefined, droppedAtSource: undefined, events: [], malformed: 1 };
}

function checkEvent(item: unknown, receivedAt: number): TimedActorEvent | undefined {
  const parsed = ActorEventSchema.safeParse(item);
  if (!parsed.success) return undefined;
  const at = (parsed.data as { at?: unknown }).at;
  return { ...parsed.data, at: typeof at === "number" && Number.isFinite(at) ? at : receivedAt };
}

/** The instance an event belongs to. */
export function instanceOf(event: ActorEvent): string {
  return event.type === "actor.updated" ? event.actor.instance : event.instance;
}

/** The actor an event is about. */
export function actorIdOf(event: ActorEvent): string {
  return event.type === "actor.updated" ? event.actor.id : event.id;
}
