import { tracked, type TrackedEnvelope } from "@trpc/server";
import type { PrismaClient } from "../db/client";
import type { RunEventListener } from "../events/listener";
import { toRunStatusView, toStepView, type RunStatusView, type StepView } from "./run-views";

// The live stream of one run: the persisted history first, then every later change as the
// worker NOTIFYs it. Notifications only wake the stream, and what it sends is always read from
// the database. So a lost or repeated notification cannot lose or repeat a step.

export type RunStreamEvent = { type: "step"; step: StepView } | { type: "status"; run: RunStatusView };

/** Statuses after which a run writes no more steps. */
const TERMINAL_STATUSES = new Set(["completed", "failed", "cancelled"]);

/** Steps read per query, so that a long history is not loaded into memory at once. */
const STEP_PAGE_SIZE = 20;

/**
 * Yields every step with an index above `afterIndex`, in order and once each, then a status
 * event, then follows the run until it reaches a terminal status with all steps sent.
 *
 * Every event is tracked with the index of the last step sent so far (-1 before the first), so
 * a client that reconnects with that id as lastEventId resumes after it. Status events are
 * sent whenever status or progress changed.
 */
export async function* streamRunEvents(
  prisma: PrismaClient,
  listener: RunEventListener,
  runId: string,
  afterIndex: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<TrackedEnvelope<RunStreamEvent>, void, unknown> {
  const wakeup = new Wakeup();
  // LISTEN starts before the first read, so a step committed during the history read still
  // wakes the loop and is read by the next pass.
  const subscription = await listener.subscribe(runId, { onNotification: () => wakeup.set(), onResync: () => wakeup.set() });

  try {
    let cursor = afterIndex;
    let lastStatus: string | null = null;

    while (!signal?.aborted) {
      wakeup.clear();
      // The run is read before its steps: a terminal status seen here was written after the
      // run's last step, so that step is in the read below.
      const run = await prisma.run.findUnique({ where: { id: runId } });
      if (!run) return;

      for (;;) {
        const steps = await prisma.runStep.findMany({
          where: { runId, index: { gt: cursor } },
          orderBy: { index: "asc" },
          take: STEP_PAGE_SIZE,
        });
        for (const step of steps) {
          cursor = step.index;
          yield tracked(String(cursor), { type: "step", step: toStepView(step) });
        }
        if (steps.length < STEP_PAGE_SIZE) break;
      }

      const status = toRunStatusView(run);
      // The ETA moves with the clock alone, so it does not count as a change.
      const statusKey = JSON.stringify({ ...status, progress: { ...status.progress, etaSeconds: null } });
      if (statusKey !== lastStatus) {
        lastStatus = statusKey;
        yield tracked(String(cursor), { type: "status", run: status });
      }
      if (TERMINAL_STATUSES.has(run.status)) return;

      await wakeup.wait(signal);
    }
  } finally {
    subscription.unsubscribe();
  }
}

/** A flag that a notification sets and the stream loop waits on. A set before the wait is kept. */
class Wakeup {
  private pending = false;
  private resolveWait: (() => void) | null = null;

  set(): void {
    this.pending = true;
    this.resolveWait?.();
    this.resolveWait = null;
  }

  clear(): void {
    this.pending = false;
  }

  /** Resolves when set (now or later) or when the signal aborts. */
  wait(signal: AbortSignal | undefined): Promise<void> {
    if (this.pending || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = () => {
        this.resolveWait = null;
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.resolveWait = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
    });
  }
}
