import { z } from "zod";
import type { PrismaClient } from "../../generated/prisma/client";
import { resolveConfig } from "../core/config";
import { createSearchState, searchStep, type SearchContext, type SearchState, type StepRecord } from "../core/search";
import { createSearchContext, datasetDomains } from "../engine";
import { OperationalError } from "../errors";
import type { Logger } from "../log";
import { GenerationCache } from "../llm/cache";
import { DatabaseCacheStore } from "../llm/db-cache-store";
import { BackendError, findBackendError } from "../llm/errors";
import type { GenerationRequest, GenerationResult } from "../core/types";
import type { Backend } from "../llm/backend";
import { recordEvent } from "../runs/events";
import { releaseLease, renewLease, takeLease } from "../runs/lease";
import { buildPool, describeIssues, loadPoolModels, loadTask, type BackendFactory } from "../runs/loader";
import { persistStep, stopRun } from "../runs/persist";

// Executes one run under its lease: loads the inputs, continues from the checkpoint, and writes
// every step before starting the next, so that a killed worker loses at most the step in progress.

export interface ExecutorOptions {
  /** This worker's lease owner id. */
  owner: string;
  leaseSeconds: number;
  stepRetries: number;
  stepRetryDelayMs: number;
  backendFactory: BackendFactory | null;
  /** True once the worker is shutting down; checked between steps. */
  stopping: () => boolean;
  logger: Logger;
}

/**
 * Outcome of an execution:
 * - not-leased: another worker holds the run, or it is not queued or running; nothing was done.
 * - completed, paused, cancelled, failed: the run's status when this worker let it go.
 * - interrupted: the worker is shutting down; the run went back to queued.
 * - lease-lost: another worker took the run over, so this one stopped without writing.
 */
export type ExecutionEnd = "not-leased" | "completed" | "paused" | "cancelled" | "failed" | "interrupted" | "lease-lost";

/** Takes the run's lease and executes the run until it completes, stops or fails. Never throws. */
export async function executeRun(prisma: PrismaClient, runId: string, options: ExecutorOptions): Promise<ExecutionEnd> {
  const log = options.logger.child({ runId });
  try {
    if (!(await takeLease(prisma, runId, options.owner, options.leaseSeconds))) return "not-leased";
  } catch (error) {
    log.error({ err: error }, "taking the run's lease failed");
    return "not-leased";
  }

  const lease = keepLease(prisma, runId, options, log);
  let end: ExecutionEnd;
  try {
    end = await executeLeased(prisma, runId, options, lease, log);
  } catch (error) {
    end = await endWithError(prisma, runId, options, error, log);
  } finally {
    lease.stop();
  }

  // Releases a lease still held after an interruption or an unexpected end; completed,
  // paused-by-error and failed runs released theirs when they were written.
  try {
    await releaseLease(prisma, runId, options.owner, { requeue: true });
  } catch (error) {
    log.error({ err: error }, "releasing the run's lease failed; it expires on its own");
  }
  return end;
}

interface LeaseKeeper {
  /** True once a renewal found that this worker no longer holds the lease. */
  readonly lost: boolean;
  stop(): void;
}

/** Renews the lease three times per lease period until stopped. */
function keepLease(prisma: PrismaClient, runId: string, options: ExecutorOptions, log: Logger): LeaseKeeper {
  let lost = false;
  let renewing = false;
  let failures = 0;

  const timer = setInterval(() => {
    if (renewing) return;
    renewing = true;
    renewLease(prisma, runId, options.owner, options.leaseSeconds)
      .then((status) => {
        failures = 0;
        if (status === null) lost = true;
      })
      .catch((error: unknown) => {
        failures += 1;
        // One line per run of failures, not one per timer tick.
        if (failures === 1) log.warn({ err: error }, "renewing the run's lease failed; retrying");
      })
      .finally(() => (renewing = false));
  }, (options.leaseSeconds * 1000) / 3);

  return {
    get lost() {
      return lost;
    },
    stop: () => clearInterval(timer),
  };
}

async function executeLeased(prisma: PrismaClient, runId: string, options: ExecutorOptions, lease: LeaseKeeper, log: Logger): Promise<ExecutionEnd> {
  const run = await prisma.run.findUniqueOrThrow({ where: { id: runId } });
  const task = await loadTask(prisma, run.taskId);
  const pool = buildPool(await loadPoolModels(prisma, run.poolId), datasetDomains(task.dataset), options.backendFactory);

  let state = run.checkpoint === null ? createSearchState(parseConfig(run.config), pool.info) : parseCheckpoint(run.checkpoint, pool.info.names.length);
  // Simulated outputs cost nothing to recompute, so only other backends keep a database cache.
  const store = isSimulated(pool.backend) ? undefined : new DatabaseCacheStore(prisma);
  const cache = new GenerationCache(new YieldingBackend(pool.backend), store);
  const context = createSearchContext({ dataset: task.dataset, metric: task.metric, pool, config: state.config, templates: task.templates }, cache);

  const verb = state.stepIndex === 0 ? "started" : `resumed from step ${state.stepIndex}`;
  await recordEvent(prisma, runId, "info", `${verb} by worker ${options.owner}`, { worker: options.owner, step: state.stepIndex });
  log.info({ worker: options.owner, step: state.stepIndex }, `run ${verb}`);

  while (state.next !== "done") {
    if (options.stopping()) return "interrupted";
    if (lease.lost) {
      log.warn({ step: state.stepIndex }, "another worker took the run over; stopping");
      return "lease-lost";
    }

    const { state: next, record } = await stepWithRetries(prisma, runId, state, context, options, log);
    const written = await persistStep(prisma, { runId, owner: options.owner, leaseSeconds: options.leaseSeconds, previous: state, state: next, record, pool: pool.info, task }).catch(
      (error: unknown) => {
        throw new Error(`writing step ${record.index} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      },
    );
    if (!written.written) {
      log.info({ step: record.index, reason: written.reason }, "stopped without writing the step");
      if (written.status === "cancelled") {
        await recordEvent(prisma, runId, "info", `stopped before writing step ${record.index}: the run is cancelled`);
        return "cancelled";
      }
      return "lease-lost";
    }

    state = next;
    if (written.status === "completed") {
      log.info({ steps: state.stepIndex, backendCalls: state.usage.backendCalls }, "run completed");
      return "completed";
    }
    if (written.status === "paused") {
      await recordEvent(prisma, runId, "info", `stopped after step ${record.index}: the run is paused`);
      log.info({ step: record.index }, "run paused");
      return "paused";
    }
    // Cache hits resolve as microtasks too, so yield once per step as well.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return "completed";
}

/**
 * Runs a step, retrying it from the same state after a retryable backend error, with a delay
 * that doubles per retry. Calls that succeeded before the error are cached, so a retry does
 * not pay for them again.
 */
async function stepWithRetries(
  prisma: PrismaClient,
  runId: string,
  state: SearchState,
  context: SearchContext,
  options: ExecutorOptions,
  log: Logger,
): Promise<{ state: SearchState; record: StepRecord }> {
  for (let retry = 0; ; retry++) {
    try {
      // A copy, so that a step that fails half-way leaves nothing behind in the state it retries from.
      return await searchStep(structuredClone(state), context);
    } catch (error) {
      const backendError = findBackendError(error);
      if (backendError === null || !backendError.retryable || retry >= options.stepRetries || options.stopping()) throw error;

      const delayMs = options.stepRetryDelayMs * 2 ** retry;
      const where = describeModel(backendError);
      log.warn({ step: state.stepIndex, model: backendError.model, endpoint: backendError.endpoint, retry: retry + 1, delayMs, err: backendError.message }, "backend call failed; retrying the step");
      await recordEvent(prisma, runId, "warn", `step ${state.stepIndex}: ${where} failed (${backendError.message}); retry ${retry + 1} of ${options.stepRetries} in ${delayMs} ms`, {
        model: backendError.model,
        endpoint: backendError.endpoint,
      });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/** Records why the run cannot go on: paused for a backend that stays unreachable, failed otherwise. */
async function endWithError(prisma: PrismaClient, runId: string, options: ExecutorOptions, error: unknown, log: Logger): Promise<ExecutionEnd> {
  const backendError = findBackendError(error);
  if (backendError?.retryable && options.stopping()) return "interrupted";

  let status: "paused" | "failed";
  let message: string;
  if (backendError !== null) {
    const where = describeModel(backendError);
    status = backendError.retryable ? "paused" : "failed";
    message = backendError.retryable
      ? `${where} failed ${options.stepRetries + 1} times: ${backendError.message}. Resume the run once the endpoint is reachable.`
      : `${where} rejected the request: ${backendError.message}. Fix the model's settings, then resume the run.`;
    log.warn({ model: backendError.model, endpoint: backendError.endpoint, err: backendError.message }, `backend error; run ${status}`);
  } else if (error instanceof OperationalError) {
    status = "failed";
    message = error.message;
    log.warn({ err: error.message }, "run failed");
  } else {
    status = "failed";
    message = `internal error: ${error instanceof Error ? error.message : String(error)}`;
    log.error({ err: error }, "run failed with an unexpected error");
  }

  const data = backendError ? { model: backendError.model, endpoint: backendError.endpoint, retryable: backendError.retryable } : undefined;
  try {
    const changed = await stopRun(prisma, { runId, owner: options.owner, status, lastError: message, event: { level: "error", message, data } });
    if (!changed) return "lease-lost";
  } catch (writeError) {
    log.error({ err: writeError, lastError: message }, "writing the run's error failed");
    return "lease-lost";
  }
  return status;
}

/** Calls between two yields to the event loop; a simulated call takes microseconds. */
const CALLS_PER_YIELD = 500;

/**
 * Passes calls through and yields to the event loop every CALLS_PER_YIELD calls. A zero-latency
 * backend resolves every call as a microtask, so without this a long step would run no timers
 * and its lease would expire mid-step. Outputs and call counts do not depend on scheduling.
 */
class YieldingBackend implements Backend {
  private calls = 0;

  constructor(private readonly inner: Backend) {}

  modelIdentity(model: number): string {
    return this.inner.modelIdentity(model);
  }

  async generate(request: GenerationRequest): Promise<GenerationResult> {
    this.calls += 1;
    if (this.calls % CALLS_PER_YIELD === 0) await new Promise((resolve) => setImmediate(resolve));
    return this.inner.generate(request);
  }
}

function describeModel(error: BackendError): string {
  return error.endpoint === null ? `model "${error.model}"` : `model "${error.model}" at ${error.endpoint}`;
}

function isSimulated(backend: Backend): boolean {
  return backend.modelIdentity(0).startsWith("simulated:");
}

function parseConfig(config: unknown) {
  try {
    return resolveConfig(config as Parameters<typeof resolveConfig>[0]);
  } catch (error) {
    if (error instanceof z.ZodError) throw new OperationalError("BAD_REQUEST", `the run's stored configuration is invalid: ${describeIssues(error)}`);
    throw error;
  }
}

function parseCheckpoint(checkpoint: unknown, poolSize: number): SearchState {
  const state = checkpoint as Partial<SearchState>;
  if (typeof state !== "object" || state === null || state.version !== 1) {
    throw new OperationalError("BAD_REQUEST", `the run's checkpoint has unsupported version ${JSON.stringify(state?.version)}; only version 1 can be resumed`);
  }
  if (state.modelCount !== poolSize) {
    throw new OperationalError("BAD_REQUEST", `the run's checkpoint is for ${state.modelCount} models, but its pool now has ${poolSize}`);
  }
  return state as SearchState;
}
