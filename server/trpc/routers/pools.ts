import { z } from "zod";
import type { PrismaClient } from "../../db/client";
import { OperationalError } from "../../errors";
import { SIMULATED_PRESETS } from "../../llm/simulated";
import { seedSimulatedPool } from "../../runs/loader";
import { procedure, router } from "../init";
import { assertModelUsable, findPool, modelData } from "../pool-models";
import { idSchema, modelInputSchema, nameSchema } from "../schemas";
import { isUniqueViolation, rejectWhileRunsExist } from "../usage";
import { isoDate, toModelView } from "../views";

export const poolsRouter = router({
  list: procedure.query(async ({ ctx }) => {
    const pools = await ctx.prisma.pool.findMany({
      orderBy: { createdAt: "desc" },
      include: { models: { select: { backend: true }, orderBy: { index: "asc" } }, _count: { select: { runs: true } } },
    });
    return pools.map((pool) => ({
      id: pool.id,
      name: pool.name,
      createdAt: isoDate(pool.createdAt),
      modelCount: pool.models.length,
      backends: [...new Set(pool.models.map((model) => model.backend))],
      runCount: pool._count.runs,
    }));
  }),

  get: procedure.input(z.object({ id: idSchema })).query(async ({ ctx, input }) => getPool(ctx.prisma, input.id)),

  /** Simulated presets that createFromPreset accepts. */
  presets: procedure.query(() =>
    Object.entries(SIMULATED_PRESETS).map(([name, preset]) => ({
      name,
      description: preset.description,
      models: preset.experts.map((expert) => expert.name),
    })),
  ),

  create: procedure
    .input(z.object({ name: nameSchema, models: z.array(modelInputSchema).min(1, { error: "a pool needs at least one model" }).max(64) }))
    .mutation(async ({ ctx, input }) => {
      input.models.forEach((model, index) => assertModelUsable(model, `models[${index}]`));

      const pool = await withUniqueName(input.name, () =>
        ctx.prisma.pool.create({
          data: {
            name: input.name,
            models: { create: input.models.map((model, index) => ({ ...modelData(model), index })) },
          },
        }),
      );
      return getPool(ctx.prisma, pool.id);
    }),

  update: procedure.input(z.object({ id: idSchema, name: nameSchema })).mutation(async ({ ctx, input }) => {
    await findPool(ctx.prisma, input.id);
    await withUniqueName(input.name, () => ctx.prisma.pool.update({ where: { id: input.id }, data: { name: input.name } }));
    return getPool(ctx.prisma, input.id);
  }),

  delete: procedure.input(z.object({ id: idSchema })).mutation(async ({ ctx, input }) => {
    const pool = await findPool(ctx.prisma, input.id);
    await rejectWhileRunsExist(ctx.prisma, { poolId: pool.id }, `delete pool "${pool.name}"`, "Pools that runs used are kept with their runs.");
    await ctx.prisma.pool.delete({ where: { id: pool.id } });
    return { id: pool.id };
  }),

  createFromPreset: procedure
    .input(z.object({ preset: z.string().trim().min(1), name: nameSchema.optional() }))
    .mutation(async ({ ctx, input }) => {
      if (!Object.hasOwn(SIMULATED_PRESETS, input.preset)) {
        throw new OperationalError(
          "BAD_REQUEST",
          `Unknown simulated preset "${input.preset}". Choose one of: ${Object.keys(SIMULATED_PRESETS).join(", ")}.`,
        );
      }
      const name = input.name ?? `${input.preset} (simulated)`;
      const existing = await ctx.prisma.pool.findUnique({ where: { name }, select: { id: true } });
      if (existing) throw duplicateName(name);

      const pool = await withUniqueName(name, () => seedSimulatedPool(ctx.prisma, input.preset, name));
      return getPool(ctx.prisma, pool.id);
    }),
});

async function getPool(prisma: PrismaClient, id: string) {
  const pool = await prisma.pool.findUnique({
    where: { id },
    include: { models: { orderBy: { index: "asc" } }, _count: { select: { runs: true } } },
  });
  if (!pool) throw new OperationalError("NOT_FOUND", `Pool ${id} not found.`);
  return {
    id: pool.id,
    name: pool.name,
    createdAt: isoDate(pool.createdAt),
    runCount: pool._count.runs,
    models: pool.models.map(toModelView),
  };
}

function duplicateName(name: string): OperationalError {
  return new OperationalError("CONFLICT", `A pool named "${name}" already exists. Choose another name.`);
}

/** Runs a write and turns a violation of the unique pool name into CONFLICT. */
async function withUniqueName<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw duplicateName(name);
    throw error;
  }
}
