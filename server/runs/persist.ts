import type { Prisma, PrismaClient, RunStatus } from "../../generated/prisma/client";
import { buildResult } from "../core/result";
import type { PoolInfo, SearchState, StepRecord } from "../core/search";
import type { MetricName } from "../core/types";
import type { RunStepBest, RunStepGraph, RunStepModels } from "./contracts";
import { notifyRun, recordEvent } from "./events";

// The worker's writes: each step with the checkpoint after it in one transaction, and the
// run's end when it stops for good.

export interface StepWrite {
  runId: string;
  /** Lease owner; the step is written only while this owner holds the run's lease. */
  owner: string;
  leaseSeconds: number;
  /** State before the step, to tell whether the step found a new best system. */
  previous: SearchState;
  state: SearchState;
  record: StepRecord;
  pool: PoolInfo;
  task: { name: string; metric: MetricName };
}

export type StepWriteOutcome =
  /** Written. `status` is the run's status afterwards: running, paused if the user paused meanwhile, or completed. */
  | { written: true; status: RunStatus }
  /** Not written, because another worker holds the lease or the run was cancelled or deleted. */
  | { written: false; status: RunStatus | null; reason: string };

/** Statuses in which the lease holder still writes its step: a pause keeps the step it interrupted. */
const WRITABLE: RunStatus[] = ["running", "paused", "queued"];

/**
 * Writes a step in one transaction: the RunStep row, the checkpoint, the progress counters, a
 * renewed lease, and events for a new best system or the end of the search. After the final
 * step it also writes the item results and the run's result. Listeners hear of it at commit.
 */
export async function persistStep(prisma: PrismaClient, write: StepWrite): Promise<StepWriteOutcome> {
  const { runId, owner, state, record } = write;

  return prisma.$transaction(
    async (tx) => {
      const rows = await tx.$queryRaw<{ status: RunStatus; leaseOwner: string | null }[]>`
        SELECT "status", "leaseOwner" FROM "run" WHERE "id" = ${runId} FOR UPDATE`;
      const row = rows[0];
      if (row === undefined) return { written: false as const, status: null, reason: "the run was deleted" };
      if (row.leaseOwner !== owner) return { written: false as const, status: row.status, reason: "another worker holds the lease" };
      if (!WRITABLE.includes(row.status)) return { written: false as const, status: row.status, reason: `the run is ${row.status}` };

      const done = state.next === "done";
      // A run resumed while this worker still held it is queued again, and goes on running here.
      let status: RunStatus = row.status === "queued" ? "running" : row.status;
      if (done) status = "completed";

      await tx.runStep.create({
        data: {
          runId,
          index: record.index,
          kind: record.kind,
          iteration: record.iteration,
          graphs: stepGraphs(record) as unknown as Prisma.InputJsonValue,
          models: stepModels(record) as unknown as Prisma.InputJsonValue,
          best: (stepBest(state) ?? {}) as unknown as Prisma.InputJsonValue,
        },
      });

      await tx.run.update({
        where: { id: runId },
        data: {
          status,
          checkpoint: state as unknown as Prisma.InputJsonValue,
          iteration: state.iteration,
          callsDone: state.usage.backendCalls,
          cacheHits: state.usage.cacheHits,
          tokens: BigInt(state.usage.promptTokens + state.usage.completionTokens),
          ...(done ? { result: buildResult(state, write.pool, write.task) as unknown as Prisma.InputJsonValue, leaseOwner: null, leaseUntil: null } : {}),
        },
      });
      // Both times come from the database's clock, like startedAt and the lease checks.
      if (done) {
        await tx.$executeRaw`UPDATE "run" SET "finishedAt" = timezone('UTC', now()) WHERE "id" = ${runId}`;
      } else {
        await tx.$executeRaw`
          UPDATE "run" SET "leaseUntil" = timezone('UTC', now()) + make_interval(secs => ${write.leaseSeconds}::float8)
          WHERE "id" = ${runId}`;
      }

      await recordStepEvents(tx, write);
      if (done) await writeItemResults(tx, runId, state);

      await notifyRun(tx, { runId, stepIndex: record.index, status });
      return { written: true as const, status };
    },
    { maxWait: 10_000, timeout: 60_000 },
  );
}

async function recordStepEvents(tx: Prisma.TransactionClient, write: StepWrite): Promise<void> {
  const { runId, previous, state, record } = write;

  const best = state.best;
  if (best !== null && (previous.best === null || best.dev > previous.best.dev)) {
    await recordEvent(tx, runId, "info", `new best system at step ${record.index}: dev utility ${best.dev.toFixed(4)}`, { step: record.index, dev: best.dev });
  }
  if (previous.next !== "final" && state.next === "final" && state.stopReason !== null) {
    await recordEvent(tx, runId, "info", `search stopped after step ${record.index}: ${state.stopReason}`, { step: record.index, reason: state.stopReason });
  }
  if (state.next === "done" && state.result !== null) {
    const { dev, test } = state.result.best;
    await recordEvent(tx, runId, "info", `completed: best system dev utility ${dev.toFixed(4)}, test utility ${test.toFixed(4)}`, { dev, test });
  }
}

/** Per-item correctness on the test split, of the best system ("system") and of each model alone ("model:<i>"). */
async function writeItemResults(tx: Prisma.TransactionClient, runId: string, state: SearchState): Promise<void> {
  const result = state.result;
  if (result === null) return;

  // TODO: the engine reports correctness only, so score is 1 or 0 and output is empty. Per-item
  // scores and final outputs need the search's final step to return them.
  const subjects: [string, boolean[]][] = [["system", result.testCorrect.system], ...result.testCorrect.models.map((correct, i): [string, boolean[]] => [`model:${i}`, correct])];
  const rows = subjects.flatMap(([subject, correct]) =>
    correct.map((value, itemIndex) => ({ runId, subject, split: "test" as const, itemIndex, correct: value, score: value ? 1 : 0 })),
  );
  await tx.itemResult.createMany({ data: rows });
}

export function stepGraphs(record: StepRecord): RunStepGraph[] {
  if (record.graphs === null) return [];
  return record.graphs.map((graph, i) => ({ position: record.graphPositions?.[i] ?? null, dag: graph.dag, utility: graph.utility }));
}

export function stepModels(record: StepRecord): RunStepModels {
  return { jfk: record.jfk, jfkDrawn: record.jfkDrawn, coefficients: record.coefficients, assignments: record.assignments };
}

export function stepBest(state: SearchState): RunStepBest | null {
  const best = state.best;
  if (best === null) return null;
  const { spec } = best;
  return { dev: best.dev, kind: spec.kind, edges: spec.dag.edges, end: spec.dag.end, assignment: spec.assignment, coefficients: spec.coefficients, foundAtStep: best.step };
}

/**
 * Ends a run that cannot go on (status paused or failed) and releases its lease, unless the
 * user cancelled it meanwhile or another worker holds it. Returns whether the run was changed.
 */
export async function stopRun(
  prisma: PrismaClient,
  input: { runId: string; owner: string; status: "paused" | "failed"; lastError: string; event: { level: "warn" | "error"; message: string; data?: Prisma.InputJsonValue } },
): Promise<boolean> {
  const { runId, owner, status } = input;
  return prisma.$transaction(async (tx) => {
    const changed = await tx.run.updateMany({
      where: { id: runId, leaseOwner: owner, status: { in: ["running", "queued", "paused"] } },
      data: { status, lastError: input.lastError, leaseOwner: null, leaseUntil: null },
    });
    if (changed.count === 0) return false;

    if (status === "failed") await tx.$executeRaw`UPDATE "run" SET "finishedAt" = timezone('UTC', now()) WHERE "id" = ${runId}`;

    await recordEvent(tx, runId, input.event.level, input.event.message, input.event.data);
    await notifyRun(tx, { runId, stepIndex: null, status });
    return true;
  });
}
