import { z } from "zod";
import type { PoolModel } from "../../generated/prisma/client";
import { extractAnswer } from "../core/answers";
import { predecessors } from "../core/gdecode";
import { runSystem, type SystemSpec } from "../core/system";
import type { Generate, GenerationSettings, Item } from "../core/types";
import type { PrismaClient } from "../db/client";
import { OperationalError } from "../errors";
import { GenerationCache } from "../llm/cache";
import { DatabaseCacheStore } from "../llm/db-cache-store";
import { buildPool, describeIssues, type BackendFactory } from "../runs/loader";
import { systemDefinitionSchema, type SystemDefinition } from "../trpc/system-definition";
import { placementOf } from "./placement";

// Runs a stored system on one free question: the shared path of the Systems page (tRPC
// systems.run) and of the OpenAI-compatible chat-completions endpoint.

/** Maximum length of a question, in characters, so that one request cannot fill the server's memory. */
export const MAX_QUESTION_CHARS = 100_000;

/**
 * Gold answer of a free question. The simulated pool reads the gold answer to decide whether an
 * expert answers correctly, and a typed question has none, so an expert that would solve the
 * question replies with this placeholder and one that would not replies "I am not sure". Real
 * backends never read the gold answer.
 */
export const FREE_QUESTION_GOLD = "[simulated answer]";

/** Temperature and token limit of a run whose configuration does not name them: the search defaults. */
const DEFAULT_SETTINGS: GenerationSettings = { temperature: 0, maxTokens: 512, topP: 1 };

export interface SystemNodeRun {
  /** Position of the node in the DAG. */
  position: number;
  /** Name of the pool model at this position. */
  model: string;
  modelIndex: number;
  /** Positions whose outputs this node's prompt contains, in prompt order. */
  inputs: number[];
  prompt: string;
  output: string;
}

export interface SystemRunUsage {
  /** Prompt and completion tokens of every node's call, cached ones included, as the backend counts them. */
  promptTokens: number;
  completionTokens: number;
  /** Calls that reached the backend; the others were served from the generation cache. */
  backendCalls: number;
  cacheHits: number;
}

export interface StoredSystemRun {
  systemId: string;
  systemName: string;
  /** The end node's output, or the majority answer of a vote system. */
  answer: string;
  /** Every node that was run, in topological order (position order for a vote system). */
  nodes: SystemNodeRun[];
  usage: SystemRunUsage;
  /** Whether the answer comes from the simulated pool, a stand-in for real models. */
  simulated: boolean;
}

export interface RunStoredSystemOptions {
  /** Builds the backend of the system's models; the default is the one runs use. */
  backendFactory?: BackendFactory | null;
}

/**
 * Runs a stored system's whole DAG on `question` and returns its answer with every node's prompt
 * and output. Each call carries the system's weight coefficients for its model, and the
 * temperature and token limit of the run that found the system.
 * Throws BAD_REQUEST for an empty or too long question, NOT_FOUND for an unknown system and
 * CONFLICT for a stored definition that cannot run. Backend failures propagate as BackendError.
 */
export async function runStoredSystem(prisma: PrismaClient, systemId: string, question: string, options: RunStoredSystemOptions = {}): Promise<StoredSystemRun> {
  const text = checkQuestion(question);

  const row = await prisma.system.findUnique({ where: { id: systemId } });
  if (row === null) throw new OperationalError("NOT_FOUND", `System ${systemId} not found.`);
  const definition = parseDefinition(row.id, row.definition);
  const storedPlacement = (row.definition as { dag?: { placement?: unknown } } | null)?.dag?.placement;

  const spec: SystemSpec = {
    kind: definition.kind,
    dag: { ...definition.dag, placement: await placementOf(prisma, definition, storedPlacement) },
    assignment: definition.assignment,
    coefficients: definition.models.map((model) => model.coefficients),
  };

  const simulated = definition.models.every((model) => model.backend === "simulated");
  const models = await poolModelsOf(prisma, definition);
  // A free question has no domain, so the simulated pool puts it in one fixed skill group.
  const pool = buildPool({ name: definition.source.pool.name, models }, [], options.backendFactory);
  // Simulated outputs cost nothing to recompute, so only other backends keep a database cache.
  const cache = new GenerationCache(pool.backend, simulated ? undefined : new DatabaseCacheStore(prisma));
  const tokens = { prompt: 0, completion: 0 };
  const generate: Generate = async (request) => {
    const result = await cache.generate(request);
    tokens.prompt += result.promptTokens ?? 0;
    tokens.completion += result.completionTokens ?? 0;
    return result;
  };

  const item: Item = { question: text, answer: FREE_QUESTION_GOLD };
  const result = await runSystem(spec, item, {
    generate,
    templates: definition.promptTemplates,
    settings: settingsOf(definition),
    iclPrompt: definition.iclPrompt ?? undefined,
    extractAnswer,
  });

  const { backendCalls, cacheHits } = cache.usage();
  return {
    systemId: row.id,
    systemName: row.name,
    answer: result.output,
    nodes: result.nodes.map((node) => ({
      position: node.position,
      model: definition.models[node.model].name,
      modelIndex: node.model,
      inputs: spec.kind === "vote" ? [] : predecessors(spec.dag, node.position),
      prompt: node.prompt,
      output: node.output,
    })),
    usage: { promptTokens: tokens.prompt, completionTokens: tokens.completion, backendCalls, cacheHits },
    simulated,
  };
}

function checkQuestion(question: string): string {
  const text = question.trim();
  if (text === "") throw new OperationalError("BAD_REQUEST", "The question must not be empty.");
  if (text.length > MAX_QUESTION_CHARS) {
    throw new OperationalError("BAD_REQUEST", `The question must have at most ${MAX_QUESTION_CHARS} characters, but has ${text.length}.`);
  }
  return text;
}

/** Parses a stored definition, and checks that its models are listed in index order as the assignment expects. */
function parseDefinition(systemId: string, stored: unknown): SystemDefinition {
  const parsed = systemDefinitionSchema.safeParse(stored);
  if (!parsed.success) {
    throw new OperationalError("CONFLICT", `System ${systemId} has an invalid definition and cannot run: ${describeIssues(parsed.error)}.`);
  }

  const definition = parsed.data;
  definition.models.forEach((model, position) => {
    if (model.index !== position) {
      throw new OperationalError("CONFLICT", `System ${systemId} cannot run: models must be listed in index order 0..${definition.models.length - 1}, but entry ${position} has index ${model.index}.`);
    }
  });
  return definition;
}

const runSettingsSchema = z.object({ temperature: z.number().min(0), maxTokens: z.number().int().positive() }).partial();

/** Generation settings of every call, as the search used them: the run configuration's temperature and token limit, top-p 1. */
function settingsOf(definition: SystemDefinition): GenerationSettings {
  const parsed = runSettingsSchema.safeParse(definition.source.config);
  const config = parsed.success ? parsed.data : {};
  return {
    temperature: config.temperature ?? DEFAULT_SETTINGS.temperature,
    maxTokens: config.maxTokens ?? DEFAULT_SETTINGS.maxTokens,
    topP: DEFAULT_SETTINGS.topP,
  };
}

/**
 * Rebuilds pool model rows from the definition, which has every setting except API keys. A key
 * comes from the source pool's model at the same index, and only while that model still has
 * the same backend and endpoint, so that a key is never sent to another server.
 */
async function poolModelsOf(prisma: PrismaClient, definition: SystemDefinition): Promise<PoolModel[]> {
  const poolId = definition.source.pool.id;
  const needsKeys = definition.models.some((model) => model.backend !== "simulated");
  const stored = needsKeys ? await prisma.poolModel.findMany({ where: { poolId } }) : [];

  return definition.models.map((model) => {
    const current = stored.find((row) => row.index === model.index);
    const sameServer = current !== undefined && current.backend === model.backend && current.endpoint === model.endpoint;
    return {
      id: current?.id ?? `${poolId}:${model.index}`,
      poolId,
      index: model.index,
      name: model.name,
      backend: model.backend,
      endpoint: model.endpoint,
      modelName: model.modelName,
      generationSettings: model.generationSettings,
      apiKey: sameServer ? current.apiKey : null,
      baseModel: model.baseModel,
      adapterPath: model.adapterPath,
      simulatedPreset: model.simulatedPreset,
      simulatedParams: (model.simulatedParams ?? null) as PoolModel["simulatedParams"],
      weightCapable: model.weightCapable,
    };
  });
}
