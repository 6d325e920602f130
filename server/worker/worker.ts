import type { PrismaClient } from "../../generated/prisma/client";
import type { Logger } from "../log";
import { RUN_QUEUE, runJobSchema } from "../runs/contracts";
import { findUnleasedRuns, releaseLease } from "../runs/lease";
import type { BackendFactory } from "../runs/loader";
import { enqueueRun, ensureRunQueue, type PgBoss } from "../runs/queue";
import { executeRun } from "./executor";
import type { WorkerSettings } from "./settings";

// The worker: takes run jobs from pg-boss and executes them under a lease on the run row.
//
// Recovery from a killed worker works through the lease, not through pg-boss: a job stays
// active until its expiry (hours, because a handler holds it for the whole run), but the run's
// lease expires within HSWARM_LEASE_SECONDS. Every worker looks for queued or running runs
// whose lease is free or expired, at start-up and every HSWARM_SWEEP_SECONDS, and enqueues them
// again. Sends of a run that already has a waiting job add nothing, and a job whose run is
// leased by another worker ends at once, so extra jobs are harmless.

export interface RunWorkerOptions {
  prisma: PrismaClient;
  boss: PgBoss;
  settings: WorkerSettings;
  /** Lease owner id of this worker, unique among workers. */
  owner: string;
  backendFactory: BackendFactory | null;
  logger: Logger;
}

export class RunWorker {
  private stopping = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private sweepFailures = 0;
  /** Executions in progress, by run id. */
  private readonly active = new Map<string, Promise<unknown>>();

  constructor(private readonly options: RunWorkerOptions) {}

  /** Starts taking jobs, after enqueueing the runs that no worker holds. */
  async start(): Promise<void> {
    const { boss, settings } = this.options;
    await ensureRunQueue(boss);
    await this.sweep();

    // pg-boss runs one polling loop per work() call, and each loop handles one job at a time.
    for (let i = 0; i < settings.concurrentRuns; i++) {
      await boss.work<unknown>(RUN_QUEUE, { batchSize: 1, pollingIntervalSeconds: settings.pollSeconds }, (jobs) => this.handle(jobs));
    }
    this.sweepTimer = setInterval(() => void this.sweep(), settings.sweepSeconds * 1000);
  }

  /**
   * Stops taking jobs and lets the runs in progress stop after their current step. Runs still
   * in a step after the grace period are abandoned: their leases are released and they go back
   * to queued, losing that step only.
   */
  async stop(graceSeconds: number): Promise<void> {
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    const { boss, logger } = this.options;

    const finished = Promise.allSettled([...this.active.values()]);
    const grace = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceSeconds * 1000).unref());
    if ((await Promise.race([finished, grace])) === "timeout") {
      logger.warn({ runs: [...this.active.keys()] }, "abandoning the steps in progress; their runs go back to the queue");
      await Promise.allSettled([...this.active.keys()].map((runId) => this.abandon(runId)));
    }

    await boss.stop({ graceful: false, wait: true, timeout: 5_000 }).catch((error: unknown) => logger.warn({ err: error }, "stopping pg-boss failed"));
  }

  private async handle(jobs: { id: string; data: unknown }[]): Promise<void> {
    for (const job of jobs) {
      const parsed = runJobSchema.safeParse(job.data);
      if (!parsed.success) {
        this.options.logger.warn({ jobId: job.id }, "ignoring a run job without a valid runId");
        continue;
      }
      await this.execute(parsed.data.runId);
    }
  }

  private async execute(runId: string): Promise<void> {
    // Two jobs of one run can reach this process; the lease keeps other workers out, and this keeps out a second loop here.
    if (this.stopping || this.active.has(runId)) return;

    const { prisma, settings, owner, backendFactory, logger } = this.options;
    const execution = executeRun(prisma, runId, {
      owner,
      leaseSeconds: settings.leaseSeconds,
      stepRetries: settings.stepRetries,
      stepRetryDelayMs: settings.stepRetryDelayMs,
      backendFactory,
      stopping: () => this.stopping,
      logger,
    });
    this.active.set(runId, execution);
    try {
      const end = await execution;
      // A run given back during shutdown gets a job now, so another worker need not wait for a sweep.
      if (end === "interrupted") await this.requeue(runId);
    } finally {
      this.active.delete(runId);
    }
  }

  private async abandon(runId: string): Promise<void> {
    const { prisma, owner, logger } = this.options;
    try {
      await releaseLease(prisma, runId, owner, { requeue: true });
      await this.requeue(runId);
    } catch (error) {
      logger.error({ err: error, runId }, "releasing an abandoned run failed; its lease expires on its own");
    }
  }

  private async requeue(runId: string): Promise<void> {
    try {
      await enqueueRun(this.options.boss, runId);
    } catch (error) {
      this.options.logger.warn({ err: error, runId }, "re-enqueueing the run failed; another worker's sweep enqueues it");
    }
  }

  /** Enqueues every queued or running run whose lease is free or expired. */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.stopping) return;
    this.sweeping = true;
    const { prisma, boss, logger } = this.options;
    try {
      const runIds = await findUnleasedRuns(prisma);
      for (const runId of runIds) {
        if (this.active.has(runId)) continue;
        const jobId = await enqueueRun(boss, runId);
        if (jobId !== null) logger.info({ runId, jobId }, "enqueued a run that no worker held");
      }
      this.sweepFailures = 0;
    } catch (error) {
      this.sweepFailures += 1;
      // One line per run of failures, for example while the database restarts.
      if (this.sweepFailures === 1) logger.error({ err: error }, "looking for runs without a worker failed; retrying at the next sweep");
    } finally {
      this.sweeping = false;
    }
  }
}
