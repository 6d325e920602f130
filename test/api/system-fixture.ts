import type { Prisma, PoolModel } from "../../generated/prisma/client";
import { DEFAULT_TEMPLATES } from "../../server/core/prompts";
import type { PrismaClient } from "../../server/db/client";
import { seedSimulatedPool } from "../../server/runs/loader";
import { generationSettingsSchema } from "../../server/trpc/schemas";
import { SYSTEM_FORMAT, type SystemDefinition } from "../../server/trpc/system-definition";

// Stored systems for the systems.run and serving tests, written straight to the database so that
// each test controls the DAG, the placement and the coefficients exactly.

export interface SystemFixture {
  kind?: "dag" | "vote";
  n: number;
  edges: [number, number][];
  end: number;
  assignment: number[];
  /** Stored in the definition's `dag` unless null. */
  placement: number[] | null;
  /** Coefficients by pool model index; models not listed have fixed weights (null). */
  coefficients?: Record<number, number[]>;
  /** The run configuration the definition records. */
  config?: Record<string, unknown>;
  runId?: string;
}

/** Creates a pool of the "complementary" simulated preset (six experts). */
export async function seedPool(prisma: PrismaClient, name: string) {
  return seedSimulatedPool(prisma, "complementary", name);
}

/** Builds a system definition over the pool's models, in the shape `systems.export` writes. */
export function definitionOf(pool: { id: string; name: string; models: PoolModel[] }, fixture: SystemFixture): SystemDefinition {
  const dag: SystemDefinition["dag"] & { placement?: number[] } = { n: fixture.n, edges: fixture.edges, end: fixture.end };
  if (fixture.placement !== null) dag.placement = fixture.placement;

  return {
    format: SYSTEM_FORMAT,
    version: 1,
    kind: fixture.kind ?? "dag",
    dag,
    assignment: fixture.assignment,
    models: pool.models.map((model) => ({
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
      coefficients: fixture.coefficients?.[model.index] ?? null,
    })),
    promptTemplates: DEFAULT_TEMPLATES,
    iclPrompt: null,
    metric: "exact_match",
    utility: { dev: 0.5, test: 0.5 },
    roles: [],
    source: {
      runId: fixture.runId ?? "no-such-run",
      method: "heterogeneous-swarms",
      seed: 1,
      foundAtStep: 0,
      task: { id: "no-such-task", name: "fixture task" },
      pool: { id: pool.id, name: pool.name },
      config: fixture.config ?? { temperature: 0, maxTokens: 512 },
    },
  };
}

/** Stores a system and returns its id with the definition. */
export async function seedSystem(prisma: PrismaClient, name: string, definition: SystemDefinition): Promise<{ id: string; definition: SystemDefinition }> {
  const system = await prisma.system.create({ data: { name, definition: definition as unknown as Prisma.InputJsonValue } });
  return { id: system.id, definition };
}

/**
 * Four nodes: 2 and 3 feed 1, and 1 feeds the end node 0. With placement [0, 1, 3, 2] the nodes
 * run in the order 2, 3, 1, 0, and node 1 reads node 3's output before node 2's.
 */
export const TREE_SYSTEM: SystemFixture = {
  n: 4,
  edges: [
    [2, 1],
    [3, 1],
    [1, 0],
  ],
  end: 0,
  assignment: [4, 0, 1, 2],
  placement: [0, 1, 3, 2],
  coefficients: { 0: [0.6, 0.4, 0, 0, 0, 0], 4: [0.1, 0, 0, 0, 0.9, 0] },
  config: { temperature: 0, maxTokens: 77 },
};
