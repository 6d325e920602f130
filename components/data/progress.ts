// Progress of a run: calls done against the estimate, cache hit rate and a remaining-time
// estimate from the call rate so far.

export interface ProgressInput {
  status: string;
  /** Iterations completed. */
  iteration: number;
  maxIterations: number;
  /** Backend calls made so far, cache hits excluded. */
  callsDone: number;
  /** Pre-launch estimate of the backend calls of the whole run; 0 when unknown. */
  callsExpected: number;
  cacheHits: number;
  /** Milliseconds since the epoch. */
  startedAt: number | null;
  finishedAt: number | null;
  now: number;
}

export interface Progress {
  /** Share of the expected calls done, in [0, 1], and 1 once the run completed. */
  fraction: number;
  /** Backend calls done over expected, "100 / 400"; "?" for an unknown estimate. */
  callsText: string;
  /** Iterations completed over the maximum, "2 / 20". */
  iterationText: string;
  /** Cache hits over all generation requests; null before the first request. */
  cacheHitRate: number | null;
  elapsedSeconds: number | null;
  /** Estimated seconds left; null while there is nothing to extrapolate from, or once finished. */
  etaSeconds: number | null;
}

const FINISHED = new Set(["completed", "cancelled", "failed"]);

export function computeProgress(input: ProgressInput): Progress {
  const finished = FINISHED.has(input.status);
  const requests = input.callsDone + input.cacheHits;
  const cacheHitRate = requests > 0 ? input.cacheHits / requests : null;

  let fraction = input.callsExpected > 0 ? Math.min(1, input.callsDone / input.callsExpected) : 0;
  if (input.status === "completed") fraction = 1;

  const end = input.finishedAt ?? input.now;
  const elapsedSeconds = input.startedAt === null ? null : Math.max(0, (end - input.startedAt) / 1000);

  // Extrapolates the call rate so far. The estimate of expected calls counts every call the
  // reference algorithm would make, so cache hits usually bring the real end earlier.
  let etaSeconds: number | null = null;
  if (!finished && input.status === "running" && elapsedSeconds !== null && input.callsDone > 0 && input.callsExpected > 0) {
    const remaining = Math.max(0, input.callsExpected - input.callsDone);
    etaSeconds = (elapsedSeconds / input.callsDone) * remaining;
  }

  const expectedText = input.callsExpected > 0 ? input.callsExpected.toLocaleString("en-US") : "?";
  return {
    fraction,
    callsText: `${input.callsDone.toLocaleString("en-US")} / ${expectedText}`,
    iterationText: `${input.iteration} / ${input.maxIterations}`,
    cacheHitRate,
    elapsedSeconds,
    etaSeconds,
  };
}
