import { z } from "zod";
import { Prisma, type PoolModel, type PrismaClient, type TaskItem } from "../../generated/prisma/client";
import { inferMetric } from "../core/dataset";
import { DEFAULT_TEMPLATES } from "../core/prompts";
import type { Dataset, Item, MetricName, PromptTemplates } from "../core/types";
import { OperationalError } from "../errors";
import type { Backend } from "../llm/backend";
import { checkPoolModels, createPoolBackend, PoolConfigurationError, type PoolModelSpec } from "../llm/factory";
import type { LoadedPool } from "../llm/pools";
import { SIMULATED_PRESETS, validateSimulatedPool, type SimulatedExpert, type SimulatedPoolSpec } from "../llm/simulated";
import { logger } from "../log";

// Turns the database rows of a task and a pool into the engine's inputs, and writes new ones.

/** Seed of every simulated backend built from the database, the same as the CLI's default. */
const SIMULATED_SEED = 0;

/** Logger of the real backends' retries. */
const backendLogger = logger.child({ component: "backend" });

/** Generation settings stored with seeded models; runs take theirs from the run configuration. */
const DEFAULT_GENERATION_SETTINGS = { temperature: 0, maxTokens: 512, topP: 1 };

/** Items per INSERT, well below PostgreSQL's limit of 65,535 parameters per statement. */
const ITEMS_PER_INSERT = 1000;

export interface LoadedTask {
  id: string;
  name: string;
  dataset: Dataset;
  metric: MetricName;
  templates: PromptTemplates;
}

/**
 * Builds a backend for a pool's models, replacing or wrapping the built-in one.
 * `defaultBackend` is the simulated backend for simulated pools and null for others. Returning
 * null keeps the default.
 */
export type BackendFactory = (input: { poolName: string; models: PoolModel[]; domains: string[]; defaultBackend: Backend | null }) => Backend | null;

const templatesSchema = z.object({ firstStep: z.string(), laterStep: z.string(), keepNewlines: z.boolean() });

const expertSchema = z.object({
  name: z.string(),
  skills: z.array(z.number()).min(1),
  trust: z.number(),
  verify: z.number(),
  verbosity: z.number(),
});

/** Loads a task with its items in (split, index) order. Throws NOT_FOUND for an unknown id. */
export async function loadTask(prisma: PrismaClient, taskId: string): Promise<LoadedTask> {
  const task = await prisma.task.findUnique({
    where: { id: taskId },
    include: { items: { orderBy: [{ split: "asc" }, { index: "asc" }] } },
  });
  if (task === null) throw new OperationalError("NOT_FOUND", `task ${taskId} not found`);

  const templates = templatesSchema.safeParse(task.promptTemplates);
  if (!templates.success) {
    throw new OperationalError("BAD_REQUEST", `task "${task.name}" has invalid prompt templates: ${describeIssues(templates.error)}`);
  }

  const dataset: Dataset = {
    name: task.name,
    dev: task.items.filter((row) => row.split === "dev").map(itemOf),
    test: task.items.filter((row) => row.split === "test").map(itemOf),
  };
  if (task.iclPrompt !== null) dataset.icl_prompt = task.iclPrompt;

  return { id: task.id, name: task.name, dataset, metric: task.metric, templates: templates.data };
}

function itemOf(row: TaskItem): Item {
  const item: Item = { question: row.question, answer: row.answer };
  if (row.choices !== null) item.choices = row.choices as Record<string, string>;
  if (row.externalId !== null) item.id = row.externalId;
  if (row.domain !== null) item.domain = row.domain;
  if (row.contextChunks !== null) item.context_chunks = row.contextChunks as string[];
  return item;
}

/** Loads a pool's models in index order. Throws NOT_FOUND for an unknown id, BAD_REQUEST for an empty pool. */
export async function loadPoolModels(prisma: PrismaClient, poolId: string): Promise<{ name: string; models: PoolModel[] }> {
  const pool = await prisma.pool.findUnique({ where: { id: poolId }, include: { models: { orderBy: { index: "asc" } } } });
  if (pool === null) throw new OperationalError("NOT_FOUND", `pool ${poolId} not found`);
  if (pool.models.length === 0) throw new OperationalError("BAD_REQUEST", `pool "${pool.name}" has no models; add at least one`);

  pool.models.forEach((model, position) => {
    if (model.index !== position) {
      throw new OperationalError("BAD_REQUEST", `pool "${pool.name}": model indices must be 0..${pool.models.length - 1}, but model "${model.name}" has index ${model.index}`);
    }
  });
  return { name: pool.name, models: pool.models };
}

/**
 * Builds the engine's pool from database rows through createPoolBackend. An all-simulated pool
 * gets one SimulatedBackend, each expert taken from the model's `simulatedParams`, else from
 * its preset by model name, else by index. Other pools get the real backends. A
 * `backendFactory` (tests only) may replace or wrap the result, and may supply the backend of a
 * kind that is not supported yet. Throws BAD_REQUEST naming the model at fault.
 */
export function buildPool(pool: { name: string; models: PoolModel[] }, domains: readonly string[], backendFactory?: BackendFactory | null): LoadedPool {
  const { models } = pool;
  const specs = poolModelSpecs(pool);
  const allSimulated = models.every((model) => model.backend === "simulated");

  let defaultBackend: Backend | null = null;
  let unsupported: PoolConfigurationError | null = null;
  try {
    defaultBackend = createPoolBackend(specs, { poolName: pool.name, domains, simulatedSeed: SIMULATED_SEED, openai: { logger: backendLogger } });
  } catch (error) {
    if (!(error instanceof PoolConfigurationError)) throw error;
    if (!error.unsupported || !backendFactory) throw new OperationalError("BAD_REQUEST", error.message, { cause: error });
    unsupported = error;
  }

  const backend = backendFactory?.({ poolName: pool.name, models, domains: [...domains], defaultBackend }) ?? defaultBackend;
  if (backend === null) throw new OperationalError("BAD_REQUEST", (unsupported as PoolConfigurationError).message, { cause: unsupported });

  return {
    info: {
      names: models.map((model) => model.name),
      weightCapable: models.map((model) => model.weightCapable),
      bases: models.map((model) => (model.backend === "simulated" ? `simulated:${pool.name}` : (model.baseModel ?? null))),
    },
    backend,
    label: allSimulated ? `simulated pool "${pool.name}" (${models.length} simulated experts)` : `pool "${pool.name}"`,
  };
}

/**
 * Throws BAD_REQUEST unless a run of the pool can start: its models must be valid for their
 * backends, and of a supported kind unless a test backend factory is configured.
 */
export function checkPoolRunnable(pool: { name: string; models: PoolModel[] }, backendFactory?: BackendFactory | null): void {
  try {
    checkPoolModels(poolModelSpecs(pool), pool.name);
  } catch (error) {
    if (!(error instanceof PoolConfigurationError)) throw error;
    if (error.unsupported && backendFactory) return;
    throw new OperationalError("BAD_REQUEST", error.message, { cause: error });
  }
}

/** Converts a pool's rows to the backends' model descriptions, resolving simulated experts. Throws BAD_REQUEST naming the model at fault. */
export function poolModelSpecs(pool: { name: string; models: PoolModel[] }): PoolModelSpec[] {
  return pool.models.map((model) => ({
    index: model.index,
    name: model.name,
    backend: model.backend,
    endpoint: model.endpoint,
    modelName: model.modelName,
    apiKey: model.apiKey,
    generationSettings: isPlainObject(model.generationSettings) ? model.generationSettings : {},
    baseModel: model.baseModel,
    adapterPath: model.adapterPath,
    weightCapable: model.weightCapable,
    simulated: model.backend === "simulated" ? expertOf(pool.name, model) : null,
  }));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Builds and validates the simulated pool of a pool's rows. Throws BAD_REQUEST naming the model at fault. */
export function simulatedSpecOf(pool: { name: string; models: PoolModel[] }): SimulatedPoolSpec {
  const experts = pool.models.map((model) => expertOf(pool.name, model));
  const spec: SimulatedPoolSpec = { name: pool.name, description: `${experts.length} simulated experts`, experts };
  try {
    validateSimulatedPool(spec);
  } catch (error) {
    throw new OperationalError("BAD_REQUEST", (error as Error).message, { cause: error });
  }
  return spec;
}

function expertOf(poolName: string, model: PoolModel): SimulatedExpert {
  const where = `pool "${poolName}", model ${model.index} ("${model.name}")`;

  if (model.simulatedParams !== null) {
    const parsed = expertSchema.safeParse(model.simulatedParams);
    if (!parsed.success) {
      throw new OperationalError("BAD_REQUEST", `${where}: simulatedParams must be a simulated expert {name, skills, trust, verify, verbosity}: ${describeIssues(parsed.error)}`);
    }
    return { ...parsed.data, name: model.name };
  }

  const presetName = model.simulatedPreset;
  if (presetName === null) {
    throw new OperationalError("BAD_REQUEST", `${where}: a simulated model needs simulatedParams or simulatedPreset`);
  }
  const preset = SIMULATED_PRESETS[presetName];
  if (preset === undefined) {
    throw new OperationalError("BAD_REQUEST", `${where}: unknown simulated preset "${presetName}"; presets are ${Object.keys(SIMULATED_PRESETS).join(", ")}`);
  }
  const expert = preset.experts.find((e) => e.name === model.modelName) ?? preset.experts[model.index];
  if (expert === undefined) {
    throw new OperationalError("BAD_REQUEST", `${where}: preset "${presetName}" has no expert named "${model.modelName}" and only ${preset.experts.length} experts by index`);
  }
  return { ...expert, name: model.name };
}

/**
 * Creates a pool whose models are the experts of a simulated preset, in the preset's order:
 * backend simulated, weight-capable, model name = expert name, with the expert's parameters
 * copied, so that later changes to the preset do not change this pool's runs.
 * Throws BAD_REQUEST for an unknown preset and CONFLICT when the pool name is taken.
 */
export async function seedSimulatedPool(prisma: PrismaClient, presetName: string, poolName: string) {
  const preset = SIMULATED_PRESETS[presetName];
  if (preset === undefined) {
    throw new OperationalError("BAD_REQUEST", `unknown simulated preset "${presetName}"; presets are ${Object.keys(SIMULATED_PRESETS).join(", ")}`);
  }

  try {
    return await prisma.pool.create({
      data: {
        name: poolName,
        models: {
          create: preset.experts.map((expert, index) => ({
            index,
            name: expert.name,
            backend: "simulated" as const,
            modelName: expert.name,
            generationSettings: DEFAULT_GENERATION_SETTINGS,
            simulatedPreset: presetName,
            simulatedParams: { ...expert },
            weightCapable: true,
          })),
        },
      },
      include: { models: { orderBy: { index: "asc" } } },
    });
  } catch (error) {
    throw conflictOnDuplicate(error, `a pool named "${poolName}" already exists`);
  }
}

/**
 * Creates a task and all its items in one transaction. The metric defaults to the one the items
 * imply (multiple_choice when they have choices, exact_match otherwise) and the templates to
 * DEFAULT_TEMPLATES. Throws BAD_REQUEST for a dataset without items and CONFLICT when the name is taken.
 *
 * NOTE: choices are stored as jsonb, which orders object keys by length and then bytewise. The
 * prompt lists choices in that order after a reload, which differs from the file's order only
 * for keys like {"B", "A"} or {"10", "9"}.
 */
export async function importTask(prisma: PrismaClient, dataset: Dataset, name: string, metric?: MetricName, templates: PromptTemplates = DEFAULT_TEMPLATES) {
  if (dataset.dev.length + dataset.test.length === 0) {
    throw new OperationalError("BAD_REQUEST", `dataset "${dataset.name}" has no items; a task needs dev and test items`);
  }
  let resolvedMetric: MetricName;
  try {
    resolvedMetric = metric ?? inferMetric(dataset);
  } catch (error) {
    throw new OperationalError("BAD_REQUEST", (error as Error).message, { cause: error });
  }

  const rows = [
    ...dataset.dev.map((item, index) => itemRow(item, "dev", index)),
    ...dataset.test.map((item, index) => itemRow(item, "test", index)),
  ];

  try {
    return await prisma.$transaction(
      async (tx) => {
        const task = await tx.task.create({
          data: { name, metric: resolvedMetric, promptTemplates: { ...templates }, iclPrompt: dataset.icl_prompt ?? null },
        });
        for (let start = 0; start < rows.length; start += ITEMS_PER_INSERT) {
          await tx.taskItem.createMany({ data: rows.slice(start, start + ITEMS_PER_INSERT).map((row) => ({ ...row, taskId: task.id })) });
        }
        return task;
      },
      { timeout: 120_000 },
    );
  } catch (error) {
    throw conflictOnDuplicate(error, `a task named "${name}" already exists`);
  }
}

function itemRow(item: Item, split: "dev" | "test", index: number) {
  return {
    split,
    index,
    question: item.question,
    answer: item.answer,
    choices: item.choices ?? Prisma.DbNull,
    domain: item.domain ?? null,
    externalId: item.id === undefined ? null : String(item.id),
    contextChunks: item.context_chunks ?? Prisma.DbNull,
  };
}

function conflictOnDuplicate(error: unknown, message: string): unknown {
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
    return new OperationalError("CONFLICT", message, { cause: error });
  }
  return error;
}

/** Formats zod issues as "path: message" pairs, separated by semicolons. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`).join("; ");
}
