// Worker settings from environment variables, each validated with a message that names the
// variable, its unit and the value found.

export interface WorkerSettings {
  /** Seconds a run's lease lasts without renewal; another worker takes a run over after it. */
  leaseSeconds: number;
  /** Seconds between looks for queued or running runs that no worker holds. */
  sweepSeconds: number;
  /** Seconds between pg-boss polls for new jobs (at least 0.5). */
  pollSeconds: number;
  /** Runs one worker process executes at once. */
  concurrentRuns: number;
  /** Retries of a step whose backend call failed with a retryable error, before the run pauses. */
  stepRetries: number;
  /** Delay before the first retry of a step, doubled for each further retry. */
  stepRetryDelayMs: number;
  /** Seconds a stopping worker waits for the steps in progress before it abandons them. */
  shutdownGraceSeconds: number;
}

const VARIABLES: Record<keyof WorkerSettings, { name: string; fallback: number; min: number; integer: boolean; unit: string }> = {
  leaseSeconds: { name: "HSWARM_LEASE_SECONDS", fallback: 30, min: 1, integer: false, unit: "seconds" },
  sweepSeconds: { name: "HSWARM_SWEEP_SECONDS", fallback: 10, min: 0.1, integer: false, unit: "seconds" },
  pollSeconds: { name: "HSWARM_POLL_SECONDS", fallback: 2, min: 0.5, integer: false, unit: "seconds" },
  concurrentRuns: { name: "HSWARM_WORKER_RUNS", fallback: 1, min: 1, integer: true, unit: "runs" },
  stepRetries: { name: "HSWARM_STEP_RETRIES", fallback: 3, min: 0, integer: true, unit: "retries" },
  stepRetryDelayMs: { name: "HSWARM_STEP_RETRY_DELAY_MS", fallback: 5000, min: 0, integer: true, unit: "milliseconds" },
  shutdownGraceSeconds: { name: "HSWARM_SHUTDOWN_GRACE_SECONDS", fallback: 10, min: 0, integer: false, unit: "seconds" },
};

/** Reads the worker settings; throws an Error naming the first invalid variable. */
export function readWorkerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const settings = {} as WorkerSettings;
  for (const [key, variable] of Object.entries(VARIABLES) as [keyof WorkerSettings, (typeof VARIABLES)[keyof WorkerSettings]][]) {
    const text = env[variable.name]?.trim();
    if (text === undefined || text === "") {
      settings[key] = variable.fallback;
      continue;
    }

    const value = Number(text);
    const valid = Number.isFinite(value) && value >= variable.min && (!variable.integer || Number.isInteger(value));
    if (!valid) {
      const kind = variable.integer ? "an integer" : "a number";
      throw new Error(`${variable.name} must be ${kind} of ${variable.unit} of at least ${variable.min}, but got "${text}"`);
    }
    settings[key] = value;
  }
  return settings;
}
