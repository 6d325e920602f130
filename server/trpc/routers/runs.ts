import { z } from "zod";
import { CONFIG_HELP, METHODS, searchConfigSchema } from "../../core/config";
import { estimateCalls } from "../../core/estimate";
import { plannedSteps } from "../../core/search";
import type { PrismaClient } from "../../db/client";
import { OperationalError } from "../../errors";
import { cancelRun, launchRun, pauseRun, resumeRun } from "../../runs/service";
import { procedure, router } from "../init";
import { streamRunEvents } from "../run-stream";
import { toEventView, toRunSummary, toStepView } from "../run-views";
import { idSchema, RUN_STATUSES } from "../schemas";

const runInclude = {
  task: { select: { id: true, name: true } },
  pool: { select: { id: true, name: true } },
  _count: { select: { steps: true } },
} as const;

/** A run configuration as the client sends it: any subset of the hyperparameters, the rest default. */
const configInputSchema = searchConfigSchema.optional().transform((config) => config ?? searchConfigSchema.parse({}));

export const runsRouter = router({
  list: procedure
    .input(
      z
        .object({
          status: z.enum(RUN_STATUSES).optional(),
          taskId: idSchema.optional(),
          poolId: idSchema.optional(),
        })
        .optional(),
    )
    .query(async ({ ctx, input }) => {
      const runs = await ctx.prisma.run.findMany({
        where: { status: input?.status, taskId: input?.taskId, poolId: input?.poolId },
        orderBy: { createdAt: "desc" },
        include: runInclude,
      });
      return runs.map((run) => toRunSummary(run));
    }),

  /** A run with its full configuration and, once completed, its result. */
  get: procedure.input(z.object({ id: idSchema })).query(async ({ ctx, input }) => {
    const run = await ctx.prisma.run.findUnique({ where: { id: input.id }, include: runInclude });
    if (!run) throw runNotFound(input.id);
    return { ...toRunSummary(run), config: run.config, result: run.result };
  }),

  /** Creates a queued run and enqueues it for a worker. The web server never runs a search itself. */
  launch: procedure
    .input(z.object({ poolId: idSchema, taskId: idSchema, config: configInputSchema }))
    .mutation(async ({ ctx, input }) => {
      const boss = await ctx.boss();
      const run = await launchRun(ctx.prisma, boss, { poolId: input.poolId, taskId: input.taskId, config: input.config });
      return getSummary(ctx.prisma, run.id);
    }),

  pause: procedure.input(z.object({ id: idSchema })).mutation(async ({ ctx, input }) => {
    await pauseRun(ctx.prisma, input.id);
    return getSummary(ctx.prisma, input.id);
  }),

  resume: procedure.input(z.object({ id: idSchema })).mutation(async ({ ctx, input }) => {
    const boss = await ctx.boss();
    await resumeRun(ctx.prisma, boss, input.id);
    return getSummary(ctx.prisma, input.id);
  }),

  cancel: procedure.input(z.object({ id: idSchema })).mutation(async ({ ctx, input }) => {
    await cancelRun(ctx.prisma, input.id);
    return getSummary(ctx.prisma, input.id);
  }),

  /** Every persisted step of a run in index order, or those after `afterIndex`. */
  steps: procedure
    .input(z.object({ runId: idSchema, afterIndex: z.number().int().min(-1).default(-1) }))
    .query(async ({ ctx, input }) => {
      await findRun(ctx.prisma, input.runId);
      const steps = await ctx.prisma.runStep.findMany({
        where: { runId: input.runId, index: { gt: input.afterIndex } },
        orderBy: { index: "asc" },
      });
      return steps.map(toStepView);
    }),

  /** The run's log: failures, retries, pauses, in the order they happened. */
  events: procedure.input(z.object({ runId: idSchema })).query(async ({ ctx, input }) => {
    await findRun(ctx.prisma, input.runId);
    const events = await ctx.prisma.runEvent.findMany({ where: { runId: input.runId }, orderBy: [{ at: "asc" }, { id: "asc" }] });
    return events.map(toEventView);
  }),

  /** The run form's choices: every hyperparameter's default and one-line help, and the methods. */
  configOptions: procedure.query(() => ({ defaults: searchConfigSchema.parse({}), help: CONFIG_HELP, methods: [...METHODS] })),

  /**
   * Expected model calls of a run before launching it, and its tokens when earlier completed
   * runs of the same pool and task tell the tokens per call.
   */
  estimate: procedure
    .input(z.object({ poolId: idSchema, taskId: idSchema, config: configInputSchema }))
    .query(async ({ ctx, input }) => {
      const [models, task, splitSizes] = await Promise.all([
        ctx.prisma.poolModel.findMany({ where: { poolId: input.poolId }, select: { weightCapable: true } }),
        ctx.prisma.task.findUnique({ where: { id: input.taskId }, select: { metric: true } }),
        ctx.prisma.taskItem.groupBy({ by: ["split"], where: { taskId: input.taskId }, _count: { _all: true } }),
      ]);
      if (models.length === 0) {
        const pool = await ctx.prisma.pool.findUnique({ where: { id: input.poolId }, select: { name: true } });
        if (!pool) throw new OperationalError("NOT_FOUND", `Pool ${input.poolId} not found.`);
        throw new OperationalError("BAD_REQUEST", `Pool "${pool.name}" has no models; add at least one.`);
      }
      if (!task) throw new OperationalError("NOT_FOUND", `Task ${input.taskId} not found.`);

      const sizeOf = (split: "dev" | "test") => splitSizes.find((group) => group.split === split)?._count._all ?? 0;
      const calls = estimateCalls({
        modelCount: models.length,
        weightCapableCount: models.filter((model) => model.weightCapable).length,
        devItems: sizeOf("dev"),
        testItems: sizeOf("test"),
        metric: task.metric,
        config: input.config,
      });
      const tokens = await estimateTokens(ctx.prisma, input.poolId, input.taskId, calls.totalCalls);
      return { ...calls, stepsPlanned: plannedSteps(input.config), tokens };
    }),

  /**
   * Streams a run over SSE: every persisted step after `lastStepIndex` (all of them by default),
   * then new steps and status changes as the worker commits them. Ends once the run is
   * completed, failed or cancelled and every step was sent. On reconnect the client sends the
   * last event id, which takes precedence over `lastStepIndex`.
   */
  onEvent: procedure
    .input(
      z.object({
        runId: idSchema,
        lastStepIndex: z.number().int().min(-1).optional(),
        lastEventId: z.string().nullish(),
      }),
    )
    .subscription(async ({ ctx, input, signal }) => {
      // Checked before the stream starts, so that an unknown run is an error response, not a stream.
      await findRun(ctx.prisma, input.runId);
      const afterIndex = parseEventId(input.lastEventId) ?? input.lastStepIndex ?? -1;
      return streamRunEvents(ctx.prisma, ctx.runEvents(), input.runId, afterIndex, signal);
    }),
});

async function findRun(prisma: PrismaClient, id: string) {
  const run = await prisma.run.findUnique({ where: { id } });
  if (!run) throw runNotFound(id);
  return run;
}

async function getSummary(prisma: PrismaClient, id: string) {
  const run = await prisma.run.findUnique({ where: { id }, include: runInclude });
  if (!run) throw runNotFound(id);
  return toRunSummary(run);
}

function runNotFound(id: string): OperationalError {
  return new OperationalError("NOT_FOUND", `Run ${id} not found.`);
}

/** Parses an event id, which is the index of the last step the client received, and returns null for anything else. */
function parseEventId(id: string | null | undefined): number | null {
  if (id == null || !/^-?\d+$/.test(id)) return null;
  const index = Number(id);
  return Number.isSafeInteger(index) && index >= -1 ? index : null;
}

/**
 * Estimates the tokens of the planned calls from the tokens per backend call of earlier
 * completed runs of the same pool and task, or returns null when there are none. The figure is
 * rough, because cache hits cost no tokens and prompts grow with the previous responses a node reads.
 */
async function estimateTokens(prisma: PrismaClient, poolId: string, taskId: string, totalCalls: number) {
  const earlier = await prisma.run.aggregate({
    where: { poolId, taskId, status: "completed", callsDone: { gt: 0 } },
    _sum: { tokens: true, callsDone: true },
    _count: { _all: true },
  });
  const tokens = Number(earlier._sum.tokens ?? 0);
  const calls = earlier._sum.callsDone ?? 0;
  if (calls === 0 || tokens === 0) return null;

  const perCall = tokens / calls;
  return { perCall, total: Math.round(perCall * totalCalls), basedOnRuns: earlier._count._all };
}
