import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { Prisma } from "../../../generated/prisma/client";
import type { PrismaClient } from "../../db/client";
import { OperationalError } from "../../errors";
import { BackendError, findBackendError } from "../../llm/errors";
import type { Logger } from "../../log";
import { MAX_QUESTION_CHARS, runStoredSystem } from "../../systems/run";
import { procedure, router } from "../init";
import { idSchema, nameSchema } from "../schemas";
import { bestSystemOfRun, systemDefinitionSchema, type SystemDefinition } from "../system-definition";
import { isoDate } from "../views";

export const systemsRouter = router({
  list: procedure.query(async ({ ctx }) => {
    const systems = await ctx.prisma.system.findMany({ orderBy: { createdAt: "desc" } });
    return systems.map((system) => {
      const definition = system.definition as unknown as SystemDefinition;
      return {
        id: system.id,
        name: system.name,
        runId: system.runId,
        createdAt: isoDate(system.createdAt),
        kind: definition.kind,
        nodeCount: definition.dag.n,
        modelCount: definition.models.length,
        task: definition.source.task.name,
        pool: definition.source.pool.name,
        utility: definition.utility,
      };
    });
  }),

  /** A system with its definition, which is also the export file's content. */
  get: procedure.input(z.object({ id: idSchema })).query(async ({ ctx, input }) => {
    const system = await findSystem(ctx.prisma, input.id);
    return {
      id: system.id,
      name: system.name,
      runId: system.runId,
      createdAt: isoDate(system.createdAt),
      definition: system.definition as unknown as SystemDefinition,
    };
  }),

  /**
   * Saves the best system of a completed run as a System, so that it can be served or shared
   * without the run. The definition has the decoded DAG, the model at each position, every pool
   * model's settings (API keys left out) and weight coefficients, and the task's prompt templates.
   */
  export: procedure.input(z.object({ runId: idSchema, name: nameSchema.optional() })).mutation(async ({ ctx, input }) => {
    const run = await ctx.prisma.run.findUnique({
      where: { id: input.runId },
      include: {
        task: true,
        pool: { include: { models: { orderBy: { index: "asc" } } } },
      },
    });
    if (!run) throw new OperationalError("NOT_FOUND", `Run ${input.runId} not found.`);
    if (run.status !== "completed" || run.result === null) {
      throw new OperationalError("CONFLICT", `Run ${run.id} is ${run.status}; only a completed run has a best system to export.`);
    }

    const definition = bestSystemOfRun(run);
    // The definition is validated like an imported file, so an export can always be read back.
    systemDefinitionSchema.parse(definition);

    const name = input.name ?? `${run.task.name} · ${run.method} · seed ${run.seed}`;
    const system = await ctx.prisma.system.create({
      data: { name, runId: run.id, definition: definition as unknown as Prisma.InputJsonValue },
    });
    return { id: system.id, name: system.name, runId: system.runId, createdAt: isoDate(system.createdAt), definition };
  }),

  /**
   * Runs the system's whole DAG on a typed question and returns the answer with each node's
   * prompt and output in topological order. A simulated system answers with a placeholder,
   * because a typed question has no gold answer (see FREE_QUESTION_GOLD).
   */
  run: procedure
    .input(
      z.object({
        id: idSchema,
        question: z.string().trim().min(1, { error: "must not be empty" }).max(MAX_QUESTION_CHARS),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      try {
        return await runStoredSystem(ctx.prisma, input.id, input.question);
      } catch (error) {
        const backendError = findBackendError(error);
        if (backendError === null) throw error;
        throw backendFailure(backendError, input.id, ctx.logger);
      }
    }),

  rename: procedure.input(z.object({ id: idSchema, name: nameSchema })).mutation(async ({ ctx, input }) => {
    await findSystem(ctx.prisma, input.id);
    const system = await ctx.prisma.system.update({ where: { id: input.id }, data: { name: input.name } });
    return { id: system.id, name: system.name };
  }),

  delete: procedure.input(z.object({ id: idSchema })).mutation(async ({ ctx, input }) => {
    await findSystem(ctx.prisma, input.id);
    await ctx.prisma.system.delete({ where: { id: input.id } });
    return { id: input.id };
  }),
});

/** Reports a failed model call as 503 when a retry may pass and 502 otherwise, naming the model and endpoint. */
function backendFailure(error: BackendError, systemId: string, logger: Logger): TRPCError {
  logger.warn({ systemId, model: error.model, endpoint: error.endpoint, retryable: error.retryable, err: error.message }, "a model call of the system failed");
  const where = error.endpoint === null ? `model "${error.model}"` : `model "${error.model}" at ${error.endpoint}`;
  return new TRPCError({
    code: error.retryable ? "SERVICE_UNAVAILABLE" : "BAD_GATEWAY",
    message: `System ${systemId}: ${where} failed: ${error.message}`,
    cause: error,
  });
}

async function findSystem(prisma: PrismaClient, id: string) {
  const system = await prisma.system.findUnique({ where: { id } });
  if (!system) throw new OperationalError("NOT_FOUND", `System ${id} not found.`);
  return system;
}
