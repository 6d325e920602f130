import type { PrismaClient } from "../db/client";
import { OperationalError } from "../errors";

// Checks that keep edits from changing what existing runs refer to.

/** Statuses of a run that may still call its pool's models and read its task. */
export const UNFINISHED_STATUSES = ["queued", "running", "paused"] as const;

type RunOwner = { poolId: string } | { taskId: string };

/** Throws CONFLICT when a queued, running or paused run uses the pool or task. */
export async function rejectWhileRunsUnfinished(prisma: PrismaClient, owner: RunOwner, what: string): Promise<void> {
  const unfinished = await prisma.run.count({ where: { ...owner, status: { in: [...UNFINISHED_STATUSES] } } });
  if (unfinished > 0) {
    throw new OperationalError(
      "CONFLICT",
      `Cannot ${what} while ${unfinished} ${unfinished === 1 ? "run uses" : "runs use"} it (queued, running or paused). Cancel or finish ${unfinished === 1 ? "that run" : "those runs"} first.`,
    );
  }
}

/**
 * Throws CONFLICT when any run, finished or not, uses the pool or task, because its steps and
 * results refer to models and items by index. `remedy` is the message's advice on what to do instead.
 */
export async function rejectWhileRunsExist(prisma: PrismaClient, owner: RunOwner, what: string, remedy: string): Promise<void> {
  const runs = await prisma.run.count({ where: owner });
  if (runs > 0) {
    throw new OperationalError("CONFLICT", `Cannot ${what} because ${runs} ${runs === 1 ? "run refers" : "runs refer"} to it. ${remedy}`);
  }
}

/** Returns whether an error is Prisma's unique-constraint violation (P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "P2002";
}
