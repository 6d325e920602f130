import type { PrismaClient, RunStatus } from "../../generated/prisma/client";
import { notifyRun } from "./events";

// Leases on run rows. A worker runs a run only while it holds the run's lease, and writes a
// step only if it still holds it, so two workers never run the same run at once. A lease that
// is not renewed expires, and then any worker may take the run over from its checkpoint.
// Times are in the database's clock, as UTC like every timestamp Prisma writes.

/**
 * Takes the lease of a queued or running run whose lease is free or expired, and marks the run
 * running. Returns false when the run is in another status or another worker holds the lease.
 */
export async function takeLease(prisma: PrismaClient, runId: string, owner: string, seconds: number): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ id: string }[]>`
      UPDATE "run"
      SET "leaseOwner" = ${owner},
          "leaseUntil" = timezone('UTC', now()) + make_interval(secs => ${seconds}::float8),
          "status" = 'running',
          "startedAt" = COALESCE("startedAt", timezone('UTC', now()))
      WHERE "id" = ${runId}
        AND "status" IN ('queued', 'running')
        AND ("leaseOwner" IS NULL OR "leaseUntil" IS NULL OR "leaseUntil" < timezone('UTC', now()))
      RETURNING "id"`;
    if (rows.length === 0) return false;

    await notifyRun(tx, { runId, stepIndex: null, status: "running" });
    return true;
  });
}

/** Extends a held lease. Returns the run's status, or null when this owner no longer holds the lease. */
export async function renewLease(prisma: PrismaClient, runId: string, owner: string, seconds: number): Promise<RunStatus | null> {
  const rows = await prisma.$queryRaw<{ status: RunStatus }[]>`
    UPDATE "run"
    SET "leaseUntil" = timezone('UTC', now()) + make_interval(secs => ${seconds}::float8)
    WHERE "id" = ${runId} AND "leaseOwner" = ${owner}
    RETURNING "status"`;
  return rows[0]?.status ?? null;
}

/**
 * Releases a held lease. With `requeue`, a run still marked running goes back to queued, for a
 * worker that stops before the run is done. Returns the run's status afterwards, or null when
 * this owner did not hold the lease.
 */
export async function releaseLease(prisma: PrismaClient, runId: string, owner: string, options: { requeue: boolean }): Promise<RunStatus | null> {
  return prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ status: RunStatus; requeued: boolean }[]>`
      UPDATE "run"
      SET "leaseOwner" = NULL,
          "leaseUntil" = NULL,
          "status" = CASE WHEN ${options.requeue}::boolean AND "status" = 'running' THEN 'queued'::run_status ELSE "status" END
      WHERE "id" = ${runId} AND "leaseOwner" = ${owner}
      RETURNING "status", (${options.requeue}::boolean AND "status" = 'queued') AS "requeued"`;
    const row = rows[0];
    if (row === undefined) return null;

    if (row.requeued) await notifyRun(tx, { runId, stepIndex: null, status: "queued" });
    return row.status;
  });
}

/**
 * Lists queued or running runs that no worker holds: the lease is free or has expired, for
 * example because the worker was killed. Oldest first.
 */
export async function findUnleasedRuns(prisma: PrismaClient, limit = 100): Promise<string[]> {
  const rows = await prisma.$queryRaw<{ id: string }[]>`
    SELECT "id" FROM "run"
    WHERE "status" IN ('queued', 'running')
      AND ("leaseOwner" IS NULL OR "leaseUntil" IS NULL OR "leaseUntil" < timezone('UTC', now()))
    ORDER BY "createdAt"
    LIMIT ${limit}`;
  return rows.map((row) => row.id);
}
