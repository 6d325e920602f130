import type { z } from "zod";
import type { PrismaClient } from "../db/client";
import { OperationalError } from "../errors";
import { backendProblems, generationSettingsSchema, type ModelBackendFields, type ModelInput, type SimulatedParams } from "./schemas";

// Reads and writes of pools and their models shared by the pools and models routers.

export async function findPool(prisma: PrismaClient, id: string) {
  const pool = await prisma.pool.findUnique({ where: { id } });
  if (!pool) throw new OperationalError("NOT_FOUND", `Pool ${id} not found.`);
  return pool;
}

export async function findModel(prisma: PrismaClient, id: string) {
  const model = await prisma.poolModel.findUnique({ where: { id } });
  if (!model) throw new OperationalError("NOT_FOUND", `Model ${id} not found.`);
  return model;
}

/** Throws BAD_REQUEST naming every field that a model of its backend is missing. */
export function assertModelUsable(model: ModelBackendFields, where: string): void {
  const problems = backendProblems(model);
  if (problems.length > 0) {
    throw new OperationalError("BAD_REQUEST", problems.map((problem) => `${where}.${problem}`).join("\n"));
  }
}

/** Fills in the defaults of the generation settings. */
export function generationSettingsOf(settings: z.input<typeof generationSettingsSchema> | undefined) {
  return generationSettingsSchema.parse(settings ?? {});
}

/** Prisma create data of a model, without pool and index. */
export function modelData(model: ModelInput) {
  return {
    name: model.name,
    backend: model.backend,
    endpoint: model.endpoint ?? null,
    modelName: model.modelName,
    generationSettings: generationSettingsOf(model.generationSettings),
    apiKey: model.apiKey ?? null,
    baseModel: model.baseModel ?? null,
    adapterPath: model.adapterPath ?? null,
    simulatedPreset: model.simulatedPreset ?? null,
    simulatedParams: simulatedParamsOf(model.name, model.simulatedParams),
    // Hosted and plain OpenAI-compatible models are black boxes whose weights cannot move.
    weightCapable: model.weightCapable ?? model.backend !== "openai",
  };
}

/** Returns the stored form of a simulated expert: its parameters under the model's name. */
export function simulatedParamsOf(modelName: string, params: SimulatedParams | null | undefined) {
  return params == null ? undefined : { ...params, name: modelName };
}
