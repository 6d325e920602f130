import type { Prisma, PrismaClient } from "../../generated/prisma/client";
import { RUN_EVENTS_CHANNEL, type RunNotification } from "./contracts";

/** A client or an interactive transaction: every helper here runs in either. */
export type Db = PrismaClient | Prisma.TransactionClient;

/**
 * Sends a run notification on RUN_EVENTS_CHANNEL. Inside a transaction PostgreSQL delivers it at
 * commit, and not at all on rollback, so listeners never hear of a change they cannot read.
 */
export async function notifyRun(db: Db, notification: RunNotification): Promise<void> {
  await db.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${JSON.stringify(notification)})`;
}

/** Appends an entry to a run's event log, shown in the run's page. */
export async function recordEvent(
  db: Db,
  runId: string,
  level: "info" | "warn" | "error",
  message: string,
  data?: Prisma.InputJsonValue,
): Promise<void> {
  await db.runEvent.create({ data: { runId, level, message, data } });
}
