import PgBoss from "pg-boss";
import { logger } from "../log";
import { RUN_QUEUE, RUN_QUEUE_OPTIONS, type RunJob } from "./contracts";

export type { PgBoss };

export interface StartRunQueueOptions {
  /** Whether this process runs pg-boss maintenance (expiring and archiving jobs). Workers do; senders need not. */
  supervise?: boolean;
}

/** Starts a pg-boss client on the database (creating its schema on first use) and creates RUN_QUEUE. */
export async function startRunQueue(url: string, options: StartRunQueueOptions = {}): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: url, application_name: "hswarm", supervise: options.supervise ?? false, schedule: false });
  // Without a listener, an error event (for example a dropped connection) would crash the process.
  // pg-boss errors can carry the whole connection object, so only the message and code are logged.
  boss.on("error", (error) => logger.error({ err: { message: error.message, code: (error as { code?: string }).code } }, "pg-boss reported an error"));
  await boss.start();
  await ensureRunQueue(boss);
  return boss;
}

const queuesCreated = new WeakSet<PgBoss>();

/** Creates RUN_QUEUE once per client; pg-boss 10 rejects sends to a queue that does not exist. */
export async function ensureRunQueue(boss: PgBoss): Promise<void> {
  if (queuesCreated.has(boss)) return;
  await boss.createQueue(RUN_QUEUE, { name: RUN_QUEUE, ...RUN_QUEUE_OPTIONS });
  queuesCreated.add(boss);
}

/**
 * Sends a run's job and returns the job id. The run id is the singleton key, so a send while
 * the run already has a waiting job adds nothing and returns null.
 */
export async function enqueueRun(boss: PgBoss, runId: string): Promise<string | null> {
  await ensureRunQueue(boss);
  const job: RunJob = { runId };
  return boss.send(RUN_QUEUE, job, { singletonKey: runId });
}
