import { z } from "zod";
import { Prisma, type PoolModel } from "../../../generated/prisma/client";
import type { Item } from "../../core/types";
import { findBackendError } from "../../llm/errors";
import { createPoolBackend, PoolConfigurationError } from "../../llm/factory";
import { SimulatedBackend } from "../../llm/simulated";
import { procedure, router } from "../init";
import { poolModelSpecs, simulatedSpecOf } from "../../runs/loader";
import { assertModelUsable, findModel, findPool, generationSettingsOf, modelData, simulatedParamsOf } from "../pool-models";
import { idSchema, modelInputSchema, modelPatchSchema, type generationSettingsSchema } from "../schemas";
import { rejectWhileRunsExist, rejectWhileRunsUnfinished } from "../usage";
import { toModelView } from "../views";

/** Item of a simulated test call, with a gold answer because the simulated expert reads it to pick its output. */
const CONNECTION_TEST_ITEM: Item = {
  question: "Which planet is known as the Red Planet?",
  choices: { A: "Venus", B: "Mars", C: "Jupiter", D: "Saturn" },
  answer: "B",
  domain: "connection-test",
};

export const modelsRouter = router({
  list: procedure.input(z.object({ poolId: idSchema })).query(async ({ ctx, input }) => {
    await findPool(ctx.prisma, input.poolId);
    const models = await ctx.prisma.poolModel.findMany({ where: { poolId: input.poolId }, orderBy: { index: "asc" } });
    return models.map(toModelView);
  }),

  /** Appends a model to a pool, at the next index. */
  create: procedure.input(modelInputSchema.extend({ poolId: idSchema })).mutation(async ({ ctx, input }) => {
    const { poolId, ...model } = input;
    const pool = await findPool(ctx.prisma, poolId);
    assertModelUsable(model, "model");
    await rejectWhileRunsUnfinished(ctx.prisma, { poolId }, `add a model to pool "${pool.name}"`);

    const created = await ctx.prisma.$transaction(async (tx) => {
      const count = await tx.poolModel.count({ where: { poolId } });
      return tx.poolModel.create({ data: { ...modelData(model), poolId, index: count } });
    });
    return toModelView(created);
  }),

  /** Changes a model's fields. apiKey: a string replaces the key, null removes it, absent keeps it. */
  update: procedure.input(modelPatchSchema.extend({ id: idSchema })).mutation(async ({ ctx, input }) => {
    const { id, ...patch } = input;
    const current = await findModel(ctx.prisma, id);
    await rejectWhileRunsUnfinished(ctx.prisma, { poolId: current.poolId }, `change model "${current.name}"`);

    const next = { ...current, ...withoutUndefined(patch) };
    assertModelUsable(next, "model");

    const updated = await ctx.prisma.poolModel.update({
      where: { id },
      data: {
        ...withoutUndefined({
          name: patch.name,
          backend: patch.backend,
          endpoint: patch.endpoint,
          modelName: patch.modelName,
          apiKey: patch.apiKey,
          baseModel: patch.baseModel,
          adapterPath: patch.adapterPath,
          simulatedPreset: patch.simulatedPreset,
          weightCapable: patch.weightCapable,
        }),
        ...(patch.generationSettings === undefined ? {} : { generationSettings: generationSettingsOf(patch.generationSettings) }),
        ...(patch.simulatedParams === undefined
          ? {}
          : { simulatedParams: simulatedParamsOf(patch.name ?? current.name, patch.simulatedParams) ?? Prisma.DbNull }),
      },
    });
    return toModelView(updated);
  }),

  /** Removes a model and moves the later ones down one index, so that indices stay 0..n-1. */
  delete: procedure.input(z.object({ id: idSchema })).mutation(async ({ ctx, input }) => {
    const model = await findModel(ctx.prisma, input.id);
    await rejectWhileRunsExist(
      ctx.prisma,
      { poolId: model.poolId },
      `delete model "${model.name}" from its pool`,
      "Runs refer to models by index, so create a new pool without this model instead.",
    );

    await ctx.prisma.$transaction(async (tx) => {
      await tx.poolModel.delete({ where: { id: model.id } });
      const later = await tx.poolModel.findMany({ where: { poolId: model.poolId, index: { gt: model.index } }, orderBy: { index: "asc" } });
      for (const row of later) {
        await tx.poolModel.update({ where: { id: row.id }, data: { index: row.index - 1 } });
      }
    });
    return { id: model.id };
  }),

  /**
   * Sends one short request to the model. The simulated backend replies to a fixed sample
   * question; the other backends get one 1-token completion without retries. A failure is
   * returned with ok false and the backend's message, which names the endpoint and the status.
   */
  testConnection: procedure.input(z.object({ id: idSchema })).mutation(async ({ ctx, input }) => {
    const model = await findModel(ctx.prisma, input.id);
    const pool = await findPool(ctx.prisma, model.poolId);
    if (model.backend !== "simulated") return testRemoteModel(pool.name, model);

    // A one-model pool, built the way a run builds it, so that a model a run would reject fails here too.
    const spec = simulatedSpecOf({ name: pool.name, models: [model] });
    const backend = new SimulatedBackend(spec, [CONNECTION_TEST_ITEM.domain ?? ""]);
    const settings = generationSettingsOf(model.generationSettings as z.input<typeof generationSettingsSchema>);
    const prompt = `Please answer the following question.\n\nQuestion: ${CONNECTION_TEST_ITEM.question}`;
    const reply = await backend.generate({ model: 0, coefficients: null, prompt, settings, item: CONNECTION_TEST_ITEM, previousResponses: [] });
    return { ok: true as const, backend: model.backend, prompt, reply: reply.text, message: "The simulated backend replied." };
  }),
});

/** Maximum wait of a connection test, in ms, whatever the model's own timeout. */
const CONNECTION_TEST_TIMEOUT_MS = 15_000;

const CONNECTION_TEST_PROMPT = "Reply with the word OK.";

/**
 * Builds the model's backend as a one-model pool would and sends it one 1-token completion,
 * with one attempt and at most CONNECTION_TEST_TIMEOUT_MS. Returns ok false with the message
 * of a BackendError or of an invalid model; other errors propagate.
 */
async function testRemoteModel(poolName: string, model: PoolModel) {
  const [spec] = poolModelSpecs({ name: poolName, models: [{ ...model, index: 0 }] });
  const timeoutMs = spec.generationSettings.timeoutMs;
  spec.generationSettings = { ...spec.generationSettings, timeoutMs: typeof timeoutMs === "number" ? Math.min(timeoutMs, CONNECTION_TEST_TIMEOUT_MS) : CONNECTION_TEST_TIMEOUT_MS };

  let backend;
  try {
    backend = createPoolBackend([spec], { poolName, domains: [], openai: { retry: { maxAttempts: 1 } } });
  } catch (error) {
    if (error instanceof PoolConfigurationError) return { ok: false as const, backend: model.backend, message: error.message };
    throw error;
  }

  const settings = { temperature: 0, maxTokens: 1, topP: 1 };
  const started = Date.now();
  try {
    const reply = await backend.generate({ model: 0, coefficients: null, prompt: CONNECTION_TEST_PROMPT, settings, item: { question: CONNECTION_TEST_PROMPT, answer: "OK" }, previousResponses: [] });
    const message = `Model "${model.modelName}" at ${spec.endpoint} replied in ${Date.now() - started} ms.`;
    return { ok: true as const, backend: model.backend, prompt: CONNECTION_TEST_PROMPT, reply: reply.text, message };
  } catch (error) {
    const backendError = findBackendError(error);
    if (backendError === null) throw error;
    return { ok: false as const, backend: model.backend, message: backendError.message };
  }
}

function withoutUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

