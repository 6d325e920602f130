/**
 * A failed call to a model backend. `retryable` is true for failures that may pass on a later
 * attempt (connection refused, timeout, HTTP 429 and 5xx) and false for ones that will not
 * (HTTP 401, 403 or 404, an unknown model, a malformed request). `model` is the pool model's
 * name and `endpoint` the URL that was called, or null for backends without one.
 */
export class BackendError extends Error {
  readonly retryable: boolean;
  readonly model: string;
  readonly endpoint: string | null;

  constructor(message: string, details: { retryable: boolean; model: string; endpoint: string | null; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.name = "BackendError";
    this.retryable = details.retryable;
    this.model = details.model;
    this.endpoint = details.endpoint;
  }
}

/** Finds a BackendError in an error or its chain of causes. */
export function findBackendError(error: unknown): BackendError | null {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof BackendError) return current;
    current = current.cause;
  }
  return null;
}
