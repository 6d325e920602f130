// Shared set-up of the run tests: real worker processes on a test database, polling helpers,
// and the in-process run that a worker's result must equal.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { resolveConfig, type SearchConfigInput } from "../../server/core/config";
import { buildResult, type SearchResult } from "../../server/core/result";
import { createSearchState, runSearch, type SearchState } from "../../server/core/search";
import type { Dataset, MetricName } from "../../server/core/types";
import type { PrismaClient } from "../../server/db/client";
import { createSearchContext, datasetDomains } from "../../server/engine";
import { GenerationCache } from "../../server/llm/cache";
import { loadPool } from "../../server/llm/pools";
import { RUN_EVENTS_CHANNEL, runNotificationSchema, type RunNotification } from "../../server/runs/contracts";

export const ROOT = path.resolve(__dirname, "../..");
export const TEST_BACKENDS = path.join(__dirname, "fixtures/test-backends.ts");

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Everything the worker wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<number | null>;
}

const spawned: WorkerProcess[] = [];

/**
 * Starts `node --import tsx server/worker/main.ts` on a database with short leases and fast
 * polling, so that recovery takes seconds. `env` adds or overrides variables.
 */
export function spawnWorker(url: string, env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "server/worker/main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: url,
      NODE_ENV: "test",
      HSWARM_TEST_BACKEND_MODULE: TEST_BACKENDS,
      HSWARM_LEASE_SECONDS: "2",
      HSWARM_SWEEP_SECONDS: "0.5",
      HSWARM_POLL_SECONDS: "0.5",
      HSWARM_STEP_RETRY_DELAY_MS: "50",
      HSWARM_SHUTDOWN_GRACE_SECONDS: "5",
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const worker = { child, pid: child.pid as number, output: () => output, exited };
  spawned.push(worker);
  return worker;
}

/** Kills every worker this test file started that is still running, by its pid. */
export async function killWorkers(): Promise<void> {
  const alive = spawned.filter((worker) => worker.child.exitCode === null && worker.child.signalCode === null);
  spawned.length = 0;
  for (const worker of alive) worker.child.kill("SIGKILL");
  await Promise.all(alive.map((worker) => worker.exited));
}

/** Polls `probe` every 100 ms until it returns a value other than null, undefined or false. */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, workers: WorkerProcess[] = [], timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      const logs = workers.map((worker) => `--- worker ${worker.pid} ---\n${worker.output().slice(-4000)}`).join("\n");
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function waitForStatus(prisma: PrismaClient, runId: string, statuses: string[], workers: WorkerProcess[] = []) {
  return waitFor(`run ${runId} to reach ${statuses.join(" or ")}`, async () => {
    const run = await prisma.run.findUniqueOrThrow({ where: { id: runId } });
    return statuses.includes(run.status) ? run : null;
  }, workers);
}

export async function waitForSteps(prisma: PrismaClient, runId: string, count: number, workers: WorkerProcess[] = []): Promise<number> {
  return waitFor(`${count} persisted steps of run ${runId}`, async () => {
    const steps = await prisma.runStep.count({ where: { runId } });
    return steps >= count ? steps : null;
  }, workers);
}

/** Waits until no worker holds the run's lease, which a worker gives up when it stops the run. */
export async function waitForRelease(prisma: PrismaClient, runId: string, workers: WorkerProcess[] = []) {
  return waitFor(`the lease of run ${runId} to be released`, async () => {
    const run = await prisma.run.findUniqueOrThrow({ where: { id: runId } });
    return run.leaseOwner === null ? run : null;
  }, workers);
}

export interface InProcessRun {
  result: SearchResult;
  final: SearchState;
}

/** Runs the search in this process, as the CLI does: the result a worker must reproduce. */
export async function runInProcess(dataset: Dataset, preset: string, config: SearchConfigInput, task: { name: string; metric: MetricName }): Promise<InProcessRun> {
  const pool = loadPool(preset, datasetDomains(dataset));
  const resolved = resolveConfig(config);
  const cache = new GenerationCache(pool.backend);
  const context = createSearchContext({ dataset, metric: task.metric, pool, config: resolved }, cache);
  const final = await runSearch(createSearchState(resolved, pool.info), context);
  return { result: buildResult(final, pool.info, task), final };
}

/**
 * JSON with object keys sorted. PostgreSQL's jsonb keeps values exactly but reorders keys, so
 * two results are byte-identical in this form exactly when they hold the same data.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== "object" || Array.isArray(inner)) return inner;
    const entries = Object.entries(inner as Record<string, unknown>);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries);
  });
}

/** Removes a result's usage counters, which differ after a resume with a cold in-memory cache. */
export function withoutCalls(result: SearchResult | unknown): unknown {
  const { calls: _calls, ...rest } = result as SearchResult;
  return rest;
}

/** Collects the notifications of RUN_EVENTS_CHANNEL on a separate connection. */
export async function listenToRuns(url: string): Promise<{ notifications: RunNotification[]; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const notifications: RunNotification[] = [];
  client.on("notification", (message) => notifications.push(runNotificationSchema.parse(JSON.parse(message.payload ?? "null"))));
  await client.query(`LISTEN ${client.escapeIdentifier(RUN_EVENTS_CHANNEL)}`);
  return { notifications, close: () => client.end() };
}
