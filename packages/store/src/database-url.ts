import { DatabaseUnavailableError } from "./database-unavailable-error";

/** Where a `postgres://` URL points, without its credentials. */
export interface DatabaseAddress {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/**
 * Reads the address out of a `postgres://` (or `postgresql://`) URL.
 *
 * @throws {DatabaseUnavailableError} when the URL is malformed; the message
 *   quotes it with the password replaced by `***`.
 */
export function parseDatabaseUrl(url: string): DatabaseAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseUnavailableError(`malformed database URL "${redactDatabaseUrl(url)}"`);
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new DatabaseUnavailableError(
      `malformed database URL "${redactDatabaseUrl(url)}": expected postgres://user@host:port/database`,
    );
  }
  const port = parsed.port === "" ? 5432 : Number(parsed.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw new DatabaseUnavailableError(`malformed database URL "${redactDatabaseUrl(url)}": bad port`);
  }
  return {
    // An empty host means a local socket (libpq's default); `?host=` may name its directory.
    host: decode(parsed.hostname || parsed.searchParams.get("host") || "localhost"),
    port,
    database: decode(parsed.pathname.replace(/^\//, "")) || decode(parsed.username),
    user: decode(parsed.username),
  };
}

/** `host:port/database`: how messages name a database. */
export function describeDatabaseAddress(address: DatabaseAddress): string {
  return `${address.host}:${address.port}/${address.database}`;
}

/**
 * The URL with its password (userinfo or `?password=`) replaced by `***`. Works on malformed URLs too
 * (it is textual), so it is safe to use in any error message.
 *
 * @example
 * redactDatabaseUrl("postgres://app:s3cret@db:5432/wakapi") // "postgres://app:***@db:5432/wakapi"
 */
export function redactDatabaseUrl(url: string): string {
  // The userinfo part ends at the last "@" before the path; a password may itself contain "@" or ":".
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*:)[^/?#]*@/i, "$1***@")
    .replace(/([?&]password=)[^&#]*/gi, "$1***");
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
