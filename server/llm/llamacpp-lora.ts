import { basename } from "node:path";
import OpenAI from "openai";
import type { GenerationRequest, GenerationResult } from "../core/types";
import type { Backend } from "./backend";
import { BackendError } from "./errors";
import { processEndpointLimiters, type Semaphore } from "./limiter";
import { basisOf, checkBasisKinds, classifyHttpFailure, coefficientsOnBasis, sendJsonRequest, serverRootOf, type LoraModelSpec } from "./lora-common";
import { classifyFailure, describeFailure, openaiModelConfig, type OpenAIBackendOptions, type OpenAIModelConfig } from "./openai";
import { DEFAULT_RETRY_POLICY, RetriesFailedError, sleep, withRetries, type RetryPolicy } from "./retry";

// Backend "llamacpp_lora": a llama.cpp server (llama-server) started with one GGUF LoRA adapter
// per pool model of that server, in pool order (--lora a.gguf --lora b.gguf …, adapter ids 0, 1, …)
// and --lora-init-without-apply, so that no adapter applies unless a request sets its scale. Each
// request sends its coefficients as per-request scales, "lora": [{"id": k, "scale": c_k}, …],
// which llama.cpp accepts in /completion, /v1/completions and /v1/chat/completions bodies
// (tools/server/README.md of llama.cpp).
//
// This is output-space mixing, not the element-wise merge of Heterogeneous Swarms (Feng et al.,
// arXiv 2502.04510). llama.cpp adds every adapter's scaled
// low-rank update to a layer's output, y = W x + Σ_k c_k (α/r) B_k A_k x, while the paper merges
// the adapters' lora_A and lora_B element-wise, y = W x + (α/r) (Σ_k c_k B_k) (Σ_k c_k A_k) x.
// The two agree for one-hot coefficients only; in between they differ by the cross terms
// c_j c_k B_j A_k. Runs on this backend are labelled with LLAMACPP_LORA_MIXING_LABEL.

/** Label shown wherever a run or model uses the llamacpp_lora backend, so that its results are not mistaken for the element-wise merge. */
export const LLAMACPP_LORA_MIXING_LABEL = "output-space mixing: sums the scaled low-rank updates, not the paper's element-wise merge of lora_A and lora_B";

export interface LlamacppLoraBackendOptions {
  /** Limiters, retry policy, jitter and clock, shared with the openai backend's options. */
  openai?: OpenAIBackendOptions;
  /** HTTP client of GET /lora-adapters; the global fetch by default. */
  fetch?: typeof fetch;
}

/** One llamacpp_lora model, ready to call. */
export interface LlamacppLoraModelConfig {
  spec: LoraModelSpec;
  openai: OpenAIModelConfig;
  /** Pool indices of the llamacpp_lora models of this model's server, in pool order: the server's adapter ids 0, 1, … */
  serverModels: number[];
  /** Pool indices of the model's expert basis. */
  basis: number[];
}

/** One adapter as GET /lora-adapters lists it. */
interface ServerAdapter {
  id: number;
  path: string;
  scale?: number;
}

/**
 * Reads and checks the llamacpp_lora models of a pool: endpoint, base model and settings. The
 * models of one server must share a base model. The experts of one base must share one server,
 * because scales can only mix adapters loaded in the same process. Throws an Error naming the model.
 */
export function llamacppLoraModelConfigs(models: readonly LoraModelSpec[]): LlamacppLoraModelConfig[] {
  checkBasisKinds(models, "llamacpp_lora");
  const lora = models.filter((model) => model.backend === "llamacpp_lora");
  const openaiConfigs = new Map(lora.map((model) => [model.index, openaiConfigOf(model)]));

  return lora.map((model) => {
    const openai = openaiConfigs.get(model.index) as OpenAIModelConfig;
    const root = serverRootOf(openai.endpoint);
    const serverModels = lora.filter((other) => serverRootOf((openaiConfigs.get(other.index) as OpenAIModelConfig).endpoint) === root);

    const otherBase = serverModels.find((other) => other.baseModel !== model.baseModel);
    if (otherBase !== undefined) {
      throw new Error(`model ${model.index} ("${model.name}") has base model "${model.baseModel}", but model ${otherBase.index} ("${otherBase.name}") on the same llama.cpp server ${root} has "${otherBase.baseModel}"; one server serves one base model`);
    }
    const basis = basisOf(models, model);
    const elsewhere = basis.find((index) => !serverModels.some((other) => other.index === index));
    if (elsewhere !== undefined) {
      throw new Error(
        `model ${model.index} ("${model.name}") and model ${elsewhere} ("${models[elsewhere].name}") are experts of base "${model.baseModel}" on different llama.cpp servers; per-request scales can only mix adapters of one server`,
      );
    }
    return { spec: model, openai, serverModels: serverModels.map((other) => other.index), basis };
  });
}

function openaiConfigOf(model: LoraModelSpec): OpenAIModelConfig {
  const where = `model ${model.index} ("${model.name}")`;
  if (model.baseModel === null || model.baseModel.trim() === "") throw new Error(`${where}: a llamacpp_lora model needs baseModel, the GGUF model the server runs`);
  return openaiModelConfig(model);
}

/** Backend of a pool's llamacpp_lora models, which it addresses by pool index. */
export class LlamacppLoraBackend implements Backend {
  private readonly configs = new Map<number, LlamacppLoraModelConfig>();
  private readonly clients = new Map<number, OpenAI>();
  private readonly limiters = new Map<number, Semaphore>();
  private readonly checkedServers = new Map<string, Promise<void>>();
  private readonly fetch: typeof fetch;

  constructor(
    private readonly models: readonly LoraModelSpec[],
    private readonly options: LlamacppLoraBackendOptions = {},
  ) {
    this.fetch = options.fetch ?? fetch;
    const configs = llamacppLoraModelConfigs(models);
    const limiters = options.openai?.limiters ?? processEndpointLimiters;

    // Models of one endpoint share its semaphore, with the smallest limit any of them sets.
    const limits = new Map<string, number>();
    for (const config of configs) limits.set(config.openai.endpoint, Math.min(limits.get(config.openai.endpoint) ?? Infinity, config.openai.settings.concurrency));

    for (const config of configs) {
      this.configs.set(config.spec.index, config);
      this.clients.set(config.spec.index, createClient(config.openai));
      this.limiters.set(config.spec.index, limiters.forEndpoint(config.openai.endpoint, limits.get(config.openai.endpoint) as number));
    }
  }

  /**
   * `llamacpp_lora:<endpoint>:<base model>:<api>:<adapter paths of the server>`: the scales of a
   * request mean something only together with the server's adapter list. Never the key.
   */
  modelIdentity(model: number): string {
    const config = this.configAt(model);
    const adapters = config.serverModels.map((index) => this.configAt(index).spec.adapterPath ?? `#${index}`).join(",");
    return `llamacpp_lora:${config.openai.endpoint}:${config.spec.baseModel}:${config.openai.settings.api}:${adapters}`;
  }

  async generate(request: GenerationRequest): Promise<GenerationResult> {
    const config = this.configAt(request.model);
    const lora = this.scalesOf(config, request.coefficients);
    await this.checkServer(config);

    const policy: RetryPolicy = {
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: config.openai.settings.maxAttempts,
      baseDelayMs: config.openai.settings.retryBaseDelayMs,
      ...this.options.openai?.retry,
    };
    const client = this.clients.get(config.spec.index) as OpenAI;
    const limiter = this.limiters.get(config.spec.index) as Semaphore;
    const now = this.options.openai?.now ?? Date.now;

    try {
      return await withRetries(
        () => limiter.run(() => sendRequest(client, config.openai, request, lora)),
        (error) => classifyFailure(error, now()),
        policy,
        { random: this.options.openai?.random ?? Math.random, sleep: this.options.openai?.sleep ?? sleep },
      );
    } catch (error) {
      const last = error instanceof RetriesFailedError ? error.cause : error;
      const retryable = error instanceof RetriesFailedError && error.retryable;
      throw new BackendError(`llamacpp_lora model "${config.spec.name}" at ${config.openai.endpoint}: ${describeFailure(last, config.openai)}`, {
        retryable,
        model: config.spec.name,
        endpoint: config.openai.endpoint,
        cause: error,
      });
    }
  }

  /** The `lora` field of a request: one scale per adapter of the server, 0 for adapters outside the model's basis. */
  private scalesOf(config: LlamacppLoraModelConfig, coefficients: number[] | null): { id: number; scale: number }[] {
    let onBasis: number[];
    try {
      onBasis = coefficientsOnBasis(coefficients, config.spec, config.basis, this.models);
    } catch (error) {
      throw new BackendError(`llamacpp_lora model "${config.spec.name}": ${(error as Error).message}`, { retryable: false, model: config.spec.name, endpoint: config.openai.endpoint });
    }
    return config.serverModels.map((index, id) => {
      const position = config.basis.indexOf(index);
      return { id, scale: position === -1 ? 0 : onBasis[position] };
    });
  }

  /**
   * Checks once per server that GET /lora-adapters lists one adapter per pool model of the
   * server, with ids 0..m-1 and, where the pool gives adapter paths, the same file names in pool
   * order. A failed check is not kept, so that a restarted server is checked again.
   */
  private checkServer(config: LlamacppLoraModelConfig): Promise<void> {
    const root = serverRootOf(config.openai.endpoint);
    let check = this.checkedServers.get(root);
    if (check === undefined) {
      check = this.readServerAdapters(config).then((adapters) => this.compareAdapters(config, adapters));
      check.catch(() => this.checkedServers.delete(root));
      this.checkedServers.set(root, check);
    }
    return check;
  }

  private async readServerAdapters(config: LlamacppLoraModelConfig): Promise<ServerAdapter[]> {
    const url = `${serverRootOf(config.openai.endpoint)}/lora-adapters`;
    const now = this.options.openai?.now ?? Date.now;
    let text: string;
    try {
      text = await withRetries(
        () => sendJsonRequest({ method: "GET", url, apiKey: config.openai.apiKey, timeoutMs: config.openai.settings.timeoutMs, fetch: this.fetch }),
        (error) => classifyHttpFailure(error, now()),
        { ...DEFAULT_RETRY_POLICY, maxAttempts: config.openai.settings.maxAttempts, baseDelayMs: config.openai.settings.retryBaseDelayMs, ...this.options.openai?.retry },
        { random: this.options.openai?.random ?? Math.random, sleep: this.options.openai?.sleep ?? sleep },
      );
    } catch (error) {
      const last = error instanceof RetriesFailedError ? error.cause : error;
      throw this.serverError(config, `reading ${url} failed: ${(last as Error).message}`, error instanceof RetriesFailedError && error.retryable, error);
    }

    let adapters: unknown;
    try {
      adapters = JSON.parse(text);
    } catch {
      adapters = null;
    }
    if (!Array.isArray(adapters) || !adapters.every((a) => typeof a?.id === "number" && typeof a?.path === "string")) {
      throw this.serverError(config, `${url} did not return a list of {id, path, scale} adapters`, false, null);
    }
    return adapters as ServerAdapter[];
  }

  private compareAdapters(config: LlamacppLoraModelConfig, adapters: readonly ServerAdapter[]): void {
    const root = serverRootOf(config.openai.endpoint);
    const expected = config.serverModels.map((index) => this.configAt(index).spec);
    const flags = expected.map((spec) => `--lora ${spec.adapterPath ?? `<adapter of ${spec.name}>`}`).join(" ");

    if (adapters.length !== expected.length) {
      throw this.serverError(
        config,
        `the llama.cpp server at ${root} has ${adapters.length} LoRA adapter(s), but the pool has ${expected.length} llamacpp_lora model(s) on it (${expected.map((s) => `"${s.name}"`).join(", ")}); start llama-server with one adapter per model, in pool order: ${flags} --lora-init-without-apply`,
        false,
        null,
      );
    }

    const sorted = [...adapters].sort((a, b) => a.id - b.id);
    sorted.forEach((adapter, position) => {
      const spec = expected[position];
      if (adapter.id !== position) throw this.serverError(config, `the llama.cpp server at ${root} lists adapter ids ${sorted.map((a) => a.id).join(", ")}, but expected 0..${expected.length - 1}`, false, null);
      if (spec.adapterPath !== null && basename(spec.adapterPath) !== basename(adapter.path)) {
        throw this.serverError(
          config,
          `adapter ${position} on the llama.cpp server at ${root} is ${adapter.path}, but pool model ${spec.index} ("${spec.name}") expects ${basename(spec.adapterPath)}; pass the adapters in pool order: ${flags}`,
          false,
          null,
        );
      }
    });
  }

  private serverError(config: LlamacppLoraModelConfig, message: string, retryable: boolean, cause: unknown): BackendError {
    return new BackendError(`llamacpp_lora model "${config.spec.name}": ${message}`, { retryable, model: config.spec.name, endpoint: config.openai.endpoint, cause });
  }

  private configAt(model: number): LlamacppLoraModelConfig {
    const config = this.configs.get(model);
    if (config === undefined) throw new Error(`pool model ${model} is not a llamacpp_lora model of this backend`);
    return config;
  }
}

function createClient(config: OpenAIModelConfig): OpenAI {
  // The same client settings as the openai backend: no SDK retries, and no Authorization header
  // (nor OPENAI_ORG_ID or OPENAI_PROJECT_ID from the environment) for a model without a key.
  return new OpenAI({
    baseURL: config.endpoint,
    apiKey: config.apiKey ?? "no-key",
    defaultHeaders: config.apiKey === null ? { Authorization: null } : undefined,
    organization: null,
    project: null,
    maxRetries: 0,
    timeout: config.settings.timeoutMs,
  });
}

/**
 * Sends one attempt with the `lora` scales in the body, which the SDK passes through as an extra
 * field. TODO: reuse the openai backend's request function once it accepts extra body fields;
 * this copy differs only by that field.
 */
async function sendRequest(client: OpenAI, config: OpenAIModelConfig, request: GenerationRequest, lora: { id: number; scale: number }[]): Promise<GenerationResult> {
  const { temperature, maxTokens, topP } = request.settings;
  const common = { model: config.modelName, temperature, top_p: topP, max_tokens: maxTokens, stream: false as const, lora };

  if (config.settings.api === "completions") {
    const completion = await client.completions.create({ ...common, prompt: request.prompt } as OpenAI.CompletionCreateParamsNonStreaming, { maxRetries: 0 });
    const text = completion.choices?.[0]?.text;
    if (typeof text !== "string") throw new Error("the completion response has no choices[0].text");
    return withUsage(text, completion.usage);
  }

  const completion = await client.chat.completions.create(
    { ...common, messages: [{ role: "user", content: request.prompt }] } as OpenAI.ChatCompletionCreateParamsNonStreaming,
    { maxRetries: 0 },
  );
  const message = completion.choices?.[0]?.message;
  if (message === undefined) throw new Error("the chat completion response has no choices[0].message");
  return withUsage(message.content ?? message.refusal ?? "", completion.usage);
}

function withUsage(text: string, usage: { prompt_tokens?: number; completion_tokens?: number } | null | undefined): GenerationResult {
  const result: GenerationResult = { text };
  if (typeof usage?.prompt_tokens === "number") result.promptTokens = usage.prompt_tokens;
  if (typeof usage?.completion_tokens === "number") result.completionTokens = usage.completion_tokens;
  return result;
}
