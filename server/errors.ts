/**
 * An expected failure caused by the request or the current state (bad input, missing row,
 * conflicting status), as opposed to a bug. `code` uses the tRPC error code names so that the API
 * layer can map it directly, and `message` is safe to show to the user.
 */
export class OperationalError extends Error {
  readonly code: "BAD_REQUEST" | "NOT_FOUND" | "CONFLICT" | "INTERNAL_SERVER_ERROR";

  constructor(
    code: "BAD_REQUEST" | "NOT_FOUND" | "CONFLICT" | "INTERNAL_SERVER_ERROR",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "OperationalError";
    this.code = code;
  }
}
