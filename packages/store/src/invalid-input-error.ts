import { StoreError } from "./store-error";

/** A repository was called with values it refuses to write (bad time range, mixed users...). */
export class InvalidInputError extends StoreError {
  constructor(message: string) {
    super("BAD_INPUT", message);
  }
}
