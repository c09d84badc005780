import { StoreError } from "./store-error";

/**
 * A write carried a fencing token older than one that already wrote this
 * user's summaries: its lease was lost and another holder took over. Nothing
 * was written (the transaction rolled back).
 */
export class FencedOutError extends StoreError {
  readonly userId: string;
  /** The refused token, as a decimal string (tokens are `bigint` in the table). */
  readonly token: string;
  /** The token stored for the user, if it could be read. */
  readonly currentToken: string | null;
  /** Who holds `currentToken`. */
  readonly currentHolder: string | null;

  constructor(userId: string, token: string, current: { token: string; holder: string } | null) {
    super(
      "LEASE_LOST",
      current
        ? `fenced out: user ${userId} token ${token} is older than token ${current.token} held by ${current.holder}`
        : `fenced out: user ${userId} token ${token} was refused`,
    );
    this.userId = userId;
    this.token = token;
    this.currentToken = current?.token ?? null;
    this.currentHolder = current?.holder ?? null;
  }
}
