import type { GenerationRequest, GenerationResult } from "../core/types";
import type { Backend } from "./backend";
import { LlamacppLoraBackend, llamacppLoraModelConfigs } from "./llamacpp-lora";
import { OpenAIBackend, openaiModelConfig, type OpenAIBackendOptions, type OpenAIModelConfig } from "./openai";
import { SimulatedBackend, validateSimulatedPool, type SimulatedExpert } from "./simulated";
import { VllmLoraBackend, vllmLoraModelConfigs } from "./vllm-lora";

// Builds the backend of a pool from its models' descriptions, one backend kind per model.

/** Backend kinds of pool models, as stored in the database enum `Backend`. */
export type BackendKind = "simulated" | "openai" | "vllm_lora" | "llamacpp_lora";

/**
 * One pool model as the backends need it: the database row without its ids, with the simulated
 * expert already resolved and validated. Fields that do not apply to a kind are null.
 */
export interface PoolModelSpec {
  /** Position in the pool, 0..n-1; requests name models by it. */
  index: number;
  /** Display name, used in error messages. */
  name: string;
  backend: BackendKind;
  /** Base URL of an OpenAI-compatible server, such as "http://127.0.0.1:8000/v1"; null for simulated models. */
  endpoint: string | null;
  /** Model name sent to the server (the `model` field of a completion request). */
  modelName: string;
  /** Secret sent as a bearer token. Never put it in an identity, a message or a log. */
  apiKey: string | null;
  /**
   * The model's stored generation settings (JSON object). Backends read their own options from
   * it, such as `api: "chat" | "completions"`, `concurrency` and `timeoutMs` for openai models.
   * Temperature, maxTokens and topP of a call come from the request, not from here.
   */
  generationSettings: Record<string, unknown>;
  /** Base model the adapter belongs to (vllm_lora, llamacpp_lora). */
  baseModel: string | null;
  /** The model's expert adapter (PEFT folder or GGUF file). */
  adapterPath: string | null;
  /** Whether the weight-step may change this model's weights. */
  weightCapable: boolean;
  /** Parameters of a simulated model, resolved from its simulatedParams or preset; null for other kinds. */
  simulated: SimulatedExpert | null;
}

export interface PoolBackendOptions {
  /** The pool's name, for error messages and the identity of simulated models. */
  poolName: string;
  /** The task's item domains, which the simulated experts' skill groups cover. */
  domains: readonly string[];
  /** Seed of the simulated backend. */
  simulatedSeed?: number;
  /** Limiters, retry policy, jitter and logger of the openai backend. */
  openai?: OpenAIBackendOptions;
}

/**
 * A pool that no backend can run: `unsupported` is true when a model's backend kind has no
 * implementation yet, false when a model's fields are invalid for its kind.
 */
export class PoolConfigurationError extends Error {
  constructor(
    message: string,
    readonly unsupported: boolean,
  ) {
    super(message);
    this.name = "PoolConfigurationError";
  }
}

/**
 * Checks that `createPoolBackend` can build a backend for these models, without building it.
 * Throws PoolConfigurationError naming the pool, the model and the field at fault.
 */
export function checkPoolModels(models: readonly PoolModelSpec[], poolName: string): void {
  planPool(models, poolName);
}

/**
 * Builds the backend of a pool: the SimulatedBackend for an all-simulated pool (with the same
 * cache identities as before real backends existed), otherwise one backend per kind behind a
 * router that sends each request to its model's backend. Throws PoolConfigurationError like
 * checkPoolModels.
 */
export function createPoolBackend(models: readonly PoolModelSpec[], options: PoolBackendOptions): Backend {
  const plan = planPool(models, options.poolName);
  if (plan.simulated !== null) {
    return new SimulatedBackend({ name: options.poolName, description: `${models.length} simulated experts`, experts: plan.simulated }, options.domains, options.simulatedSeed ?? 0);
  }

  const backends = new Map<number, Backend>();
  if (plan.openai.length > 0) {
    const openai = new OpenAIBackend(plan.openai, options.openai);
    for (const config of plan.openai) backends.set(config.index, openai);
  }
  if (plan.vllmLora) {
    const vllm = new VllmLoraBackend(models, { openai: options.openai });
    for (const model of models) if (model.backend === "vllm_lora") backends.set(model.index, vllm);
  }
  if (plan.llamacppLora) {
    const llamacpp = new LlamacppLoraBackend(models, { openai: options.openai });
    for (const model of models) if (model.backend === "llamacpp_lora") backends.set(model.index, llamacpp);
  }
  return new RoutingBackend(backends);
}

interface PoolPlan {
  /** The experts of an all-simulated pool, in index order; null for other pools. */
  simulated: SimulatedExpert[] | null;
  openai: OpenAIModelConfig[];
  /** Whether the pool has vllm_lora and llamacpp_lora models, checked by their backends' config readers. */
  vllmLora: boolean;
  llamacppLora: boolean;
}

function planPool(models: readonly PoolModelSpec[], poolName: string): PoolPlan {
  if (models.length === 0) throw new PoolConfigurationError(`pool "${poolName}" has no models; add at least one`, false);
  models.forEach((model, position) => {
    if (model.index !== position) {
      throw new PoolConfigurationError(`pool "${poolName}": model indices must be 0..${models.length - 1}, but model "${model.name}" has index ${model.index}`, false);
    }
  });

  const simulatedCount = models.filter((model) => model.backend === "simulated").length;
  if (simulatedCount === models.length) {
    const experts = models.map((model) => simulatedExpertOf(model, poolName));
    try {
      validateSimulatedPool({ name: poolName, description: "", experts });
    } catch (error) {
      throw new PoolConfigurationError((error as Error).message, false);
    }
    return { simulated: experts, openai: [], vllmLora: false, llamacppLora: false };
  }
  if (simulatedCount > 0) {
    const other = models.find((model) => model.backend !== "simulated") as PoolModelSpec;
    throw new PoolConfigurationError(
      `pool "${poolName}" mixes simulated models with ${other.backend} model "${other.name}"; a simulated expert reads the gold answers, so it cannot share a pool with real models`,
      false,
    );
  }

  const openai: OpenAIModelConfig[] = [];
  for (const model of models) {
    const where = `pool "${poolName}", model ${model.index} ("${model.name}")`;
    switch (model.backend) {
      case "openai":
        if (model.weightCapable) {
          throw new PoolConfigurationError(`${where}: an openai model's weights cannot change, so weightCapable must be false`, false);
        }
        openai.push(openaiConfigOf(model, poolName));
        break;
      case "vllm_lora":
      case "llamacpp_lora":
        break;
      default:
        throw new PoolConfigurationError(`${where}: unknown backend "${String(model.backend)}"`, false);
    }
  }
  const vllmLora = models.some((model) => model.backend === "vllm_lora");
  const llamacppLora = models.some((model) => model.backend === "llamacpp_lora");
  try {
    if (vllmLora) vllmLoraModelConfigs(models);
    if (llamacppLora) llamacppLoraModelConfigs(models);
  } catch (error) {
    throw new PoolConfigurationError(`pool "${poolName}", ${(error as Error).message}`, false);
  }
  return { simulated: null, openai, vllmLora, llamacppLora };
}

function simulatedExpertOf(model: PoolModelSpec, poolName: string): SimulatedExpert {
  if (model.simulated === null) {
    throw new PoolConfigurationError(`pool "${poolName}", model ${model.index} ("${model.name}"): a simulated model needs its expert parameters`, false);
  }
  return { ...model.simulated, name: model.name };
}

function openaiConfigOf(model: PoolModelSpec, poolName: string): OpenAIModelConfig {
  try {
    return openaiModelConfig(model);
  } catch (error) {
    throw new PoolConfigurationError(`pool "${poolName}", ${(error as Error).message}`, false);
  }
}

/** Sends each request to the backend of its model; identities are the model backends' own. */
class RoutingBackend implements Backend {
  constructor(private readonly backends: ReadonlyMap<number, Backend>) {}

  modelIdentity(model: number): string {
    return this.backendOf(model).modelIdentity(model);
  }

  generate(request: GenerationRequest): Promise<GenerationResult> {
    return this.backendOf(request.model).generate(request);
  }

  private backendOf(model: number): Backend {
    const backend = this.backends.get(model);
    if (backend === undefined) throw new Error(`pool model ${model} has no backend; the pool has ${this.backends.size} models`);
    return backend;
  }
}
