import { z } from "zod";
import type { Run, RunStatus, PrismaClient } from "../../generated/prisma/client";
import { resolveConfig, type SearchConfig, type SearchConfigInput } from "../core/config";
import { estimateCalls } from "../core/estimate";
import { OperationalError } from "../errors";
import { logger } from "../log";
import { notifyRun, recordEvent } from "./events";
import { checkPoolRunnable, describeIssues, loadPoolModels } from "./loader";
import { enqueueRun, type PgBoss } from "./queue";
import { loadTestBackendFactory, testBackendModulePath } from "./test-backends";

// Run orchestration for the API: launch a run and move it between statuses. The worker
// (server/worker) executes queued runs; these functions only write rows and enqueue jobs.

export { importTask, seedSimulatedPool } from "./loader";
export { OperationalError };

export interface LaunchRunInput {
  poolId: string;
  taskId: string;
  config: SearchConfigInput;
}

/**
 * Validates and creates a run in status queued, then enqueues its job. Throws OperationalError:
 * BAD_REQUEST for an invalid configuration, an empty pool or split, a pool that cannot run, or
 * the judge metric; NOT_FOUND for an unknown pool or task.
 *
 * If the job cannot be sent, the run is still returned: every worker re-enqueues queued runs
 * that no worker holds, so the run starts once a worker is up.
 */
export async function launchRun(prisma: PrismaClient, boss: PgBoss, input: LaunchRunInput): Promise<Run> {
  const config = parseConfig(input.config);

  const pool = await loadPoolModels(prisma, input.poolId);
  checkPoolRunnable(pool, testBackendModulePath() === null ? null : await loadTestBackendFactory());

  const task = await prisma.task.findUnique({ where: { id: input.taskId }, select: { id: true, name: true, metric: true } });
  if (task === null) throw new OperationalError("NOT_FOUND", `task ${input.taskId} not found`);
  if (task.metric === "judge") {
    throw new OperationalError("BAD_REQUEST", `task "${task.name}" uses the judge metric, which needs a judge model; runs do not support one yet`);
  }
  const devItems = await prisma.taskItem.count({ where: { taskId: task.id, split: "dev" } });
  const testItems = await prisma.taskItem.count({ where: { taskId: task.id, split: "test" } });
  if (devItems === 0 || testItems === 0) {
    throw new OperationalError("BAD_REQUEST", `task "${task.name}" needs dev and test items, but has ${devItems} dev and ${testItems} test items`);
  }

  // The reference algorithm's calls without a cache, assuming all maxIterations run: an upper bound.
  const callsExpected = estimateCalls({
    modelCount: pool.models.length,
    weightCapableCount: pool.models.filter((model) => model.weightCapable).length,
    devItems,
    testItems,
    metric: task.metric,
    config,
  }).totalCalls;

  const run = await prisma.$transaction(async (tx) => {
    const created = await tx.run.create({
      data: { poolId: input.poolId, taskId: task.id, method: config.method, seed: config.seed, config, status: "queued", callsExpected },
    });
    await recordEvent(tx, created.id, "info", `queued: ${config.method} on task "${task.name}" with pool "${pool.name}", seed ${config.seed}`);
    await notifyRun(tx, { runId: created.id, stepIndex: null, status: "queued" });
    return created;
  });

  await sendJob(boss, run.id);
  return run;
}

/** Pauses a queued or running run. A running run stops after the step in progress, which is kept. */
export async function pauseRun(prisma: PrismaClient, runId: string): Promise<Run> {
  return transition(prisma, runId, { from: ["queued", "running"], to: "paused", verb: "paused", event: "paused by the user" });
}

/** Queues a paused or failed run again; a worker continues it from its last checkpoint. */
export async function resumeRun(prisma: PrismaClient, boss: PgBoss, runId: string): Promise<Run> {
  const run = await transition(prisma, runId, { from: ["paused", "failed"], to: "queued", verb: "resumed", event: "resumed by the user", clear: true });
  await sendJob(boss, runId);
  return run;
}

/** Cancels a run that has not completed. A running run stops before writing another step. */
export async function cancelRun(prisma: PrismaClient, runId: string): Promise<Run> {
  return transition(prisma, runId, { from: ["queued", "running", "paused", "failed"], to: "cancelled", verb: "cancelled", event: "cancelled by the user" });
}

interface Transition {
  from: RunStatus[];
  to: RunStatus;
  /** Past participle for the error message: "only paused or failed runs can be resumed". */
  verb: string;
  event: string;
  /** Whether to clear lastError and finishedAt, for a run that starts again. */
  clear?: boolean;
}

async function transition(prisma: PrismaClient, runId: string, change: Transition): Promise<Run> {
  return prisma.$transaction(async (tx) => {
    // The row lock orders this change with the worker's step writes, which lock the row too.
    const rows = await tx.$queryRaw<{ status: RunStatus }[]>`SELECT "status" FROM "run" WHERE "id" = ${runId} FOR UPDATE`;
    const current = rows[0]?.status;
    if (current === undefined) throw new OperationalError("NOT_FOUND", `run ${runId} not found`);
    if (!change.from.includes(current)) {
      throw new OperationalError("CONFLICT", `run ${runId} is ${current}, so it cannot be ${change.verb}; only ${listOr(change.from)} runs can be ${change.verb}`);
    }

    await tx.run.update({
      where: { id: runId },
      data: { status: change.to, ...(change.clear ? { lastError: null, finishedAt: null } : {}) },
    });
    if (change.to === "cancelled") await tx.$executeRaw`UPDATE "run" SET "finishedAt" = timezone('UTC', now()) WHERE "id" = ${runId}`;
    await recordEvent(tx, runId, "info", change.event, { from: current, to: change.to });
    await notifyRun(tx, { runId, stepIndex: null, status: change.to });
    return tx.run.findUniqueOrThrow({ where: { id: runId } });
  });
}

async function sendJob(boss: PgBoss, runId: string): Promise<void> {
  try {
    await enqueueRun(boss, runId);
  } catch (error) {
    logger.error({ err: error, runId }, "sending the run's job failed; a worker will enqueue the run when it next looks for waiting runs");
  }
}

function parseConfig(input: SearchConfigInput): SearchConfig {
  try {
    return resolveConfig(input);
  } catch (error) {
    if (error instanceof z.ZodError) throw new OperationalError("BAD_REQUEST", `invalid run configuration: ${describeIssues(error)}`, { cause: error });
    throw error;
  }
}

function listOr(values: string[]): string {
  return values.length === 1 ? values[0] : `${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}`;
}
