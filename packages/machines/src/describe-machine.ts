import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from "xstate";

/** One edge of the statechart: a transition to one target (`null`: the transition changes no state). */
export interface TransitionDescription {
  /** The event type (`xstate.done.actor.<id>` / `xstate.error.actor.<id>` for invoked actors). */
  readonly event: string;
  /** Id of the target state node, or `null` for a transition that only runs actions. */
  readonly target: string | null;
  readonly guard?: string;
  readonly actions: readonly string[];
}

/** A delayed (`after`) transition. */
export interface DelayedTransitionDescription extends TransitionDescription {
  /** The named delay (`passivateAfter`, `jobTimeout`, ...) or a number of milliseconds. */
  readonly delay: string | number;
}

/** One state node, flattened out of the tree. */
export interface StateDescription {
  /** Unique id, e.g. `userAggregator.processingJob.planning`. */
  readonly id: string;
  /** Keys from the root, e.g. `["processingJob", "planning"]` (`[]` for the root). */
  readonly path: readonly string[];
  readonly type: "atomic" | "compound" | "parallel" | "final" | "history";
  /** Id of the initial child of a compound state. */
  readonly initial?: string;
  readonly description?: string;
  /** Named entry / exit actions (XState's internal ones, like timer scheduling, left out). */
  readonly entry: readonly string[];
  readonly exit: readonly string[];
  /** Actors running while in this state. */
  readonly invoke: readonly { readonly id: string; readonly src: string }[];
  /** Event-driven transitions, including done/error events of invoked actors. */
  readonly on: readonly TransitionDescription[];
  readonly after: readonly DelayedTransitionDescription[];
  /** Eventless transitions (`event` is `""`). */
  readonly always: readonly TransitionDescription[];
}

/** A statechart as plain JSON: what an inspector needs to draw it. */
export interface MachineDescription {
  readonly id: string;
  /** Every state node, the root first, then depth-first in definition order. */
  readonly states: readonly StateDescription[];
}

/**
 * Flattens a machine's definition into plain JSON for the inspector.
 *
 * @example
 * ```ts
 * const { states } = describeMachine(userAggregatorMachine);
 * states.find((s) => s.id === "userAggregator.closed")?.type; // "final"
 * ```
 */
export function describeMachine(machine: AnyStateMachine): MachineDescription {
  const states: StateDescription[] = [];
  const visit = (node: AnyStateNode): void => {
    states.push(describeStateNode(node));
    for (const child of Object.values(node.states) as AnyStateNode[]) visit(child);
  };
  visit(machine.root);
  return { id: machine.id, states };
}

function describeStateNode(node: AnyStateNode): StateDescription {
  const after = node.after.flatMap((transition) =>
    describeTransition(transition).map((edge) => ({ ...edge, delay: describeDelay(transition.delay) })),
  );
  const delayedEvents = new Set(node.after.map((transition) => transition.eventType));
  const on = [...node.transitions.entries()]
    .filter(([event]) => !delayedEvents.has(event))
    .flatMap(([, transitions]) => transitions.flatMap(describeTransition));
  return {
    id: node.id,
    path: [...node.path],
    type: node.type,
    ...(node.type === "compound" ? { initial: node.initial.target.map((target) => target.id)[0] } : {}),
    ...(node.description === undefined ? {} : { description: node.description }),
    entry: actionNames(node.entry),
    exit: actionNames(node.exit),
    invoke: node.invoke.map((definition) => ({
      id: definition.id,
      src: typeof definition.src === "string" ? definition.src : definition.id,
    })),
    on,
    after,
    always: (node.always ?? []).flatMap(describeTransition),
  };
}

function describeTransition(transition: AnyTransitionDefinition): TransitionDescription[] {
  const guard = describeGuard(transition.guard);
  const base = {
    event: String(transition.eventType),
    ...(guard === undefined ? {} : { guard }),
    actions: actionNames(transition.actions),
  };
  const targets = transition.target ?? [];
  return targets.length === 0
    ? [{ ...base, target: null }]
    : targets.map((target) => ({ ...base, target: target.id }));
}

function describeDelay(delay: unknown): string | number {
  if (typeof delay === "string" || typeof delay === "number") return delay;
  return "expression";
}

function describeGuard(guard: unknown): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === "string") return guard;
  if (typeof guard === "object" && guard !== null && "type" in guard) return String(guard.type);
  return "inline";
}

/** Names of the author's actions: named ones by name, inline ones as `inline`; XState's bookkeeping dropped. */
function actionNames(actions: readonly unknown[]): string[] {
  return actions.flatMap((action) => {
    const name =
      typeof action === "string"
        ? action
        : typeof action === "object" && action !== null && "type" in action
          ? String(action.type)
          : typeof action === "function" && "type" in action
            ? String(action.type)
            : "inline";
    return name.startsWith("xstate.") && name !== "xstate.assign"
      ? []
      : [name === "xstate.assign" ? "assign" : name];
  });
}
