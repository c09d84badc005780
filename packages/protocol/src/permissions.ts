import { ConfigError } from "./errors";
import { createSubjects, DEFAULT_PREFIX } from "./subjects";

/**
 * Least-privilege NATS permissions (issue 7, item 2): what an engine instance,
 * a client and the inspector may publish and subscribe to, as data, so the
 * same lists feed the tests, the docs (docs/nats-permissions.md) and an
 * operator's nats-server config.
 *
 * Replies travel on inboxes. A client is granted only its own inbox
 * (`_INBOX_<name>.>`, nats.js `inboxPrefix`), so it cannot read anyone
 * else's replies. An engine answers requests with `allow_responses` (it may
 * reply once to a request it received, whatever the inbox) and takes its own
 * replies (JetStream API, KV, scatter-gather) on {@link engineInboxPrefix},
 * inside the internal namespace that only engines hold.
 */

/** The subjects of one direction (publish or subscribe); everything else is denied. */
export interface SubjectPermission {
  readonly allow: readonly string[];
}

/** One NATS user's permissions, as nats-server's `permissions { ... }` block. */
export interface NatsPermissions {
  readonly publish: SubjectPermission;
  readonly subscribe: SubjectPermission;
  /**
   * nats-server `allow_responses`: the user may publish one reply to each
   * request it received, on that request's reply subject, and nothing else
   * beyond `publish.allow`.
   */
  readonly allowResponses?: boolean;
}

/** Options of {@link clientPermissions} and {@link inspectorPermissions}. */
export interface ClientPermissionOptions {
  /**
   * The inbox prefix the client connects with (nats.js `inboxPrefix`); its
   * replies arrive on `<inboxPrefix>.>`. Default {@link clientInboxPrefix}`("client")`.
   * Give every client user its own, or they can read each other's replies.
   */
  readonly inboxPrefix?: string;
}

/** Options of {@link enginePermissions}. */
export interface EnginePermissionOptions {
  /**
   * The inbox prefix the engine connects with. Default
   * {@link engineInboxPrefix}`(prefix)`, which the internal grant already
   * covers; any other value is granted for subscription in addition.
   */
  readonly inboxPrefix?: string;
}

const CLIENT_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const INBOX_PREFIX = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;
const JS_API = "$JS.API";

/**
 * The inbox prefix of engine instances on `prefix`: `<prefix>.x.inbox`. It
 * lies under `<prefix>.x.>`, which only engines may subscribe to, so no
 * client can read the engine's JetStream and KV replies and no extra grant is
 * needed.
 *
 * @example
 * ```ts
 * engineInboxPrefix("agg"); // "agg.x.inbox"
 * const nc = await connectNats(env, { inboxPrefix: engineInboxPrefix(config.prefix) });
 * ```
 */
export function engineInboxPrefix(prefix: string = DEFAULT_PREFIX): string {
  // `<prefix>.x` is the internal namespace of createSubjects (internalWildcard `<prefix>.x.>`).
  return `${createSubjects(prefix).prefix}.x.inbox`;
}

/**
 * The inbox prefix of the client user `name`: `_INBOX_<name>`. A client
 * granted {@link clientPermissions} with this prefix connects with nats.js
 * `inboxPrefix: "_INBOX_<name>"` and reads replies on `_INBOX_<name>.>` only.
 *
 * @throws {ConfigError} unless `name` is one subject token of `A-Z a-z 0-9 _ -`
 *   (a dot would let `alice` read `alice.x`'s inbox).
 * @example
 * ```ts
 * clientInboxPrefix("alice"); // "_INBOX_alice"
 * ```
 */
export function clientInboxPrefix(name: string): string {
  if (!CLIENT_NAME.test(name)) {
    throw new ConfigError(
      "client name",
      `expected 1-64 characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(name)}`,
    );
  }
  return `_INBOX_${name}`;
}

function checkedInboxPrefix(inboxPrefix: string): string {
  if (!INBOX_PREFIX.test(inboxPrefix)) {
    throw new ConfigError(
      "inboxPrefix",
      `expected dot-separated tokens without wildcards, got ${JSON.stringify(inboxPrefix)}`,
    );
  }
  return inboxPrefix;
}

/**
 * What one engine instance needs on `prefix`, and nothing more:
 *
 * - the public request subjects (subscribe) and the batch events (publish);
 * - the internal namespace `<prefix>.x.>` (both ways): jobs, reports,
 *   scatter-gather inspection, inspection events, presence, dead letters, and
 *   the engine's own inbox;
 * - replies to requests it received (`allow_responses`), whatever inbox the
 *   requester uses;
 * - the JetStream API for its own streams, consumer and KV bucket only: the
 *   job stream and its durable consumer, the dead-letter stream, the leases
 *   bucket; no `$JS.API.>`, no other stream, no delete or purge.
 *
 * @example
 * ```ts
 * enginePermissions("agg").subscribe.allow; // ["agg.request", "agg.status", "agg.inspect", "agg.summary", "agg.x.>"]
 * ```
 */
export function enginePermissions(
  prefix: string = DEFAULT_PREFIX,
  options: EnginePermissionOptions = {},
): NatsPermissions {
  const s = createSubjects(prefix);
  const n = s.names;
  const jobs = n.jobsStream;
  const workers = n.jobsConsumer;
  const kvStream = `KV_${n.leasesBucket}`;
  const inbox = options.inboxPrefix === undefined ? undefined : checkedInboxPrefix(options.inboxPrefix);
  const ownInbox = inbox !== undefined && inbox !== engineInboxPrefix(prefix) ? [`${inbox}.>`] : [];
  return freeze({
    publish: {
      allow: [
        s.batchEventsWildcard,
        s.internalWildcard,
        // jetstreamManager() checks that JetStream is enabled (account info).
        `${JS_API}.INFO`,
        // The job queue: its work-queue stream and the durable pull consumer every instance shares.
        `${JS_API}.STREAM.INFO.${jobs}`,
        `${JS_API}.STREAM.CREATE.${jobs}`,
        `${JS_API}.STREAM.UPDATE.${jobs}`,
        `${JS_API}.CONSUMER.INFO.${jobs}.${workers}`,
        `${JS_API}.CONSUMER.CREATE.${jobs}.${workers}`,
        `${JS_API}.CONSUMER.MSG.NEXT.${jobs}.${workers}`,
        // ack, nak, term and in-progress: more than the one reply allow_responses permits.
        `$JS.ACK.${jobs}.${workers}.>`,
        // The dead-letter stream (publishing to it is `<prefix>.x.dead.*`).
        `${JS_API}.STREAM.INFO.${n.deadLetterStream}`,
        `${JS_API}.STREAM.CREATE.${n.deadLetterStream}`,
        // The leases bucket: create it, give it the configured TTL, read a key (direct
        // get by subject: the engine makes the bucket with allow_direct), write keys.
        `${JS_API}.STREAM.INFO.${kvStream}`,
        `${JS_API}.STREAM.CREATE.${kvStream}`,
        `${JS_API}.STREAM.UPDATE.${kvStream}`,
        // Releasing a lease purges the key's entries up to the holder's revision.
        `${JS_API}.STREAM.PURGE.${kvStream}`,
        `${JS_API}.DIRECT.GET.${kvStream}.$KV.${n.leasesBucket}.>`,
        `$KV.${n.leasesBucket}.>`,
      ],
    },
    subscribe: {
      allow: [s.request, s.status, s.inspect, summarySubject(s.prefix), s.internalWildcard, ...ownInbox],
    },
    allowResponses: true,
  });
}

/**
 * What a client needs to use the contract on `prefix`: send `agg.request`,
 * `agg.status`, `agg.inspect` (and the `agg.summary` extension the CLI
 * uses), read the batch events, and read replies on its own inbox. Nothing
 * internal, no JetStream, no other client's inbox.
 *
 * @example
 * ```ts
 * clientPermissions("agg", { inboxPrefix: clientInboxPrefix("alice") }).subscribe.allow;
 * // ["agg.batch.*", "_INBOX_alice.>"]
 * ```
 */
export function clientPermissions(
  prefix: string = DEFAULT_PREFIX,
  options: ClientPermissionOptions = {},
): NatsPermissions {
  const s = createSubjects(prefix);
  const inbox = checkedInboxPrefix(options.inboxPrefix ?? clientInboxPrefix("client"));
  return freeze({
    publish: { allow: [s.request, s.status, s.inspect, summarySubject(s.prefix)] },
    subscribe: { allow: [s.batchEventsWildcard, `${inbox}.>`] },
  });
}

/**
 * What `pnpm inspector` needs: `agg.inspect` for the snapshot, the live
 * inspection events of every instance (`<prefix>.x.inspect.events.*`, the one
 * internal subject it reads), and its own inbox. It publishes nothing internal.
 *
 * @example
 * ```ts
 * inspectorPermissions("agg", { inboxPrefix: clientInboxPrefix("inspector") });
 * ```
 */
export function inspectorPermissions(
  prefix: string = DEFAULT_PREFIX,
  options: ClientPermissionOptions = {},
): NatsPermissions {
  const s = createSubjects(prefix);
  const inbox = checkedInboxPrefix(options.inboxPrefix ?? clientInboxPrefix("inspector"));
  return freeze({
    publish: { allow: [s.inspect] },
    subscribe: { allow: [s.inspectEventsWildcard, `${inbox}.>`] },
  });
}

/** `<prefix>.summary`: the engine's stored-summaries extension (not in the contract's table). */
function summarySubject(prefix: string): string {
  return `${prefix}.summary`;
}

function freeze(p: NatsPermissions): NatsPermissions {
  return Object.freeze({
    publish: Object.freeze({ allow: Object.freeze([...p.publish.allow]) }),
    subscribe: Object.freeze({ allow: Object.freeze([...p.subscribe.allow]) }),
    ...(p.allowResponses ? { allowResponses: true } : {}),
  });
}

/** One user of a nats-server `authorization { users = [...] }` block. */
export type AuthorizationUser =
  | {
      readonly user: string;
      /** Plain text or a bcrypt hash (`nats server passwd`); quoted either way. */
      readonly password: string;
      readonly permissions?: NatsPermissions;
    }
  | {
      /** The user's public NKey (`U...`). */
      readonly nkey: string;
      readonly permissions?: NatsPermissions;
    };

/**
 * Renders a nats-server `authorization { users = [...] }` block for the given
 * users: for test servers, and as the configuration the docs show. Every
 * string is double-quoted, so `$` in subjects (`$JS.API...`) and bcrypt
 * hashes is taken literally, not as a variable.
 *
 * @throws {ConfigError} for a value with a control character or a double quote.
 * @example
 * ```ts
 * natsServerAuthorizationConfig([
 *   { user: "engine", password: "...", permissions: enginePermissions("agg") },
 *   { user: "alice", password: "...", permissions: clientPermissions("agg", { inboxPrefix: clientInboxPrefix("alice") }) },
 * ]);
 * ```
 */
export function natsServerAuthorizationConfig(users: readonly AuthorizationUser[]): string {
  const lines = ["authorization {", "  users = ["];
  for (const u of users) {
    lines.push("    {");
    if ("nkey" in u) lines.push(`      nkey: ${quote(u.nkey)}`);
    else {
      lines.push(`      user: ${quote(u.user)}`);
      lines.push(`      password: ${quote(u.password)}`);
    }
    if (u.permissions) {
      const p = u.permissions;
      lines.push("      permissions: {");
      lines.push(...renderAllow("publish", p.publish.allow));
      lines.push(...renderAllow("subscribe", p.subscribe.allow));
      if (p.allowResponses) lines.push("        allow_responses: true");
      lines.push("      }");
    }
    lines.push("    }");
  }
  lines.push("  ]", "}");
  return `${lines.join("\n")}\n`;
}

function renderAllow(direction: string, allow: readonly string[]): string[] {
  return [
    `        ${direction}: {`,
    "          allow: [",
    ...allow.map((subject) => `            ${quote(subject)}`),
    "          ]",
    "        }",
  ];
}

function quote(value: string): string {
  // nats-server's config lexer knows few escapes: refuse what it could misread rather than escape it.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (/["\\\u0000-\u001f\u007f]/.test(value)) {
    throw new ConfigError("authorization", `cannot quote ${JSON.stringify(value)} for nats-server`);
  }
  return `"${value}"`;
}
