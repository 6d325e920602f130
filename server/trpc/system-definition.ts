import { z } from "zod";
import type { Pool, PoolModel, Run, Task } from "../../generated/prisma/client";
import type { SearchResult } from "../core/result";
import type { SearchState } from "../core/search";
import { OperationalError } from "../errors";
import { BACKENDS, generationSettingsSchema, METRICS } from "./schemas";

// The JSON definition of an exported system: everything needed to run it without the run that
// found it. API keys are never part of it, so a server that serves the system reads them from the
// pool's models.

export const SYSTEM_FORMAT = "hswarm-system";

const edgeSchema = z.tuple([z.number().int().min(0), z.number().int().min(0)]);

export const systemDefinitionSchema = z
  .object({
    format: z.literal(SYSTEM_FORMAT),
    version: z.literal(1),
    /** "dag": nodes pass messages along edges. "vote": every position replies alone and the majority wins. */
    kind: z.enum(["dag", "vote"]),
    dag: z.object({
      n: z.number().int().min(1),
      edges: z.array(edgeSchema),
      end: z.number().int().min(0),
      placement: z.array(z.number().int().min(0)).optional(),
    }),
    /** Pool model index at each position of the DAG. */
    assignment: z.array(z.number().int().min(0)).min(1),
    models: z
      .array(
        z.object({
          index: z.number().int().min(0),
          name: z.string(),
          backend: z.enum(BACKENDS),
          endpoint: z.string().nullable(),
          modelName: z.string(),
          generationSettings: generationSettingsSchema,
          baseModel: z.string().nullable(),
          adapterPath: z.string().nullable(),
          simulatedPreset: z.string().nullable(),
          simulatedParams: z.unknown(),
          weightCapable: z.boolean(),
          /** Weight coefficients over the pool's expert basis, or null when the weights are fixed. */
          coefficients: z.array(z.number()).nullable(),
        }),
      )
      .min(1),
    promptTemplates: z.object({ firstStep: z.string(), laterStep: z.string(), keepNewlines: z.boolean() }),
    iclPrompt: z.string().nullable(),
    metric: z.enum(METRICS),
    /** Utility of the system on the task's dev split (searched on) and test split (reported). */
    utility: z.object({ dev: z.number(), test: z.number() }),
    /** Structural role of each position: source, relay, aggregator, end or unused. */
    roles: z.array(z.string()),
    source: z.object({
      runId: z.string(),
      method: z.string(),
      seed: z.number().int(),
      foundAtStep: z.number().int(),
      task: z.object({ id: z.string(), name: z.string() }),
      pool: z.object({ id: z.string(), name: z.string() }),
      config: z.unknown(),
    }),
  })
  .superRefine((definition, context) => {
    const n = definition.dag.n;
    const modelCount = definition.models.length;
    if (definition.assignment.length !== n) {
      context.addIssue({ code: "custom", path: ["assignment"], message: `must have ${n} entries, one per node, but has ${definition.assignment.length}` });
    }
    definition.assignment.forEach((model, position) => {
      if (model >= modelCount) context.addIssue({ code: "custom", path: ["assignment", position], message: `must be a model index below ${modelCount}, but got ${model}` });
    });
    definition.dag.edges.forEach(([from, to], edge) => {
      if (from >= n || to >= n) context.addIssue({ code: "custom", path: ["dag", "edges", edge], message: `must join nodes below ${n}, but got [${from}, ${to}]` });
    });
    if (definition.dag.end >= n) context.addIssue({ code: "custom", path: ["dag", "end"], message: `must be a node below ${n}, but got ${definition.dag.end}` });
  });

export type SystemDefinition = z.output<typeof systemDefinitionSchema>;

type RunWithSources = Run & { task: Task; pool: Pool & { models: PoolModel[] } };

/** Builds the definition of a completed run's best system. */
export function bestSystemOfRun(run: RunWithSources): SystemDefinition {
  const result = run.result as unknown as SearchResult | null;
  if (result === null || typeof result !== "object" || typeof result.best !== "object") {
    throw new OperationalError("CONFLICT", `Run ${run.id} has no result to export.`);
  }
  const models = run.pool.models;
  const spec = specOf(run, result, models);

  // NOTE: a run does not keep a copy of its pool's model settings, so a model edited after the
  // run finished is exported with its new settings.
  return {
    format: SYSTEM_FORMAT,
    version: 1,
    kind: spec.kind,
    dag: { n: spec.assignment.length, edges: spec.edges, end: spec.end, placement: spec.placement },
    assignment: spec.assignment,
    models: models.map((model) => ({
      index: model.index,
      name: model.name,
      backend: model.backend,
      endpoint: model.endpoint,
      modelName: model.modelName,
      generationSettings: generationSettingsSchema.parse(model.generationSettings ?? {}),
      baseModel: model.baseModel,
      adapterPath: model.adapterPath,
      simulatedPreset: model.simulatedPreset,
      simulatedParams: model.simulatedParams,
      weightCapable: model.weightCapable,
      coefficients: spec.coefficients[model.index] ?? null,
    })),
    promptTemplates: run.task.promptTemplates as unknown as SystemDefinition["promptTemplates"],
    iclPrompt: run.task.iclPrompt,
    metric: run.task.metric,
    utility: { dev: result.best.dev, test: result.best.test },
    roles: result.best.roles ?? [],
    source: {
      runId: run.id,
      method: run.method,
      seed: run.seed,
      foundAtStep: result.best.foundAtStep,
      task: { id: run.task.id, name: run.task.name },
      pool: { id: run.pool.id, name: run.pool.name },
      config: run.config,
    },
  };
}

interface BestSpec {
  kind: "dag" | "vote";
  edges: [number, number][];
  end: number;
  placement: number[] | undefined;
  assignment: number[];
  coefficients: (number[] | null)[];
}

/**
 * Returns the best system with model indices. The checkpoint's final state stores them, but the
 * result names models instead, so without a checkpoint the names are matched to the pool's models.
 */
function specOf(run: RunWithSources, result: SearchResult, models: PoolModel[]): BestSpec {
  const state = run.checkpoint as unknown as Partial<SearchState> | null;
  const fromState = state?.result?.best?.spec;
  if (fromState) {
    return {
      kind: fromState.kind,
      edges: fromState.dag.edges,
      end: fromState.dag.end,
      placement: fromState.dag.placement,
      assignment: fromState.assignment,
      coefficients: fromState.coefficients,
    };
  }

  const assignment = result.best.assignment.map((modelName, position) => {
    const index = models.findIndex((model) => model.name === modelName);
    if (index < 0) {
      throw new OperationalError(
        "CONFLICT",
        `Run ${run.id}: position ${position} uses model "${modelName}", which pool "${run.pool.name}" no longer has.`,
      );
    }
    return models[index].index;
  });
  return {
    kind: result.best.kind,
    edges: result.best.edges,
    end: result.best.end,
    placement: result.best.placement,
    assignment,
    coefficients: result.best.coefficients,
  };
}
