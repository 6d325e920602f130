import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { join, posix } from "node:path";
import { APIError } from "openai";
import { z } from "zod";
import type { GenerationRequest, GenerationResult } from "../core/types";
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, AdapterError, checkExpertBasis, MergedAdapterCache, readPeftAdapter, type PeftAdapter } from "./adapters";
import type { Backend } from "./backend";
import { BackendError } from "./errors";
import {
  basisOf,
  checkBasisKinds,
  classifyHttpFailure,
  coefficientsOnBasis,
  HttpStatusError,
  sendJsonRequest,
  serverMessageOf,
  serverRootOf,
  type LoraModelSpec,
} from "./lora-common";
import { OpenAIBackend, openaiModelConfig, type OpenAIBackendOptions, type OpenAIModelConfig } from "./openai";
import { DEFAULT_RETRY_POLICY, RetriesFailedError, sleep, withRetries, type RetryPolicy } from "./retry";

// Backend "vllm_lora": one base model served by vLLM (or SGLang) with runtime LoRA loading. For
// a request with coefficients c, it merges Σ_k c_k e_k over the model's expert basis into a
// PEFT adapter folder (adapters.ts). It loads that folder under its content-hash name through
// the server's load_lora_adapter endpoint, then calls the OpenAI-compatible API with that name
// as the model. At most maxLoadedAdapters are loaded per server. To make room, the least
// recently used idle adapter is unloaded, never one with requests in flight.
//
// vLLM: POST /v1/load_lora_adapter {lora_name, lora_path}, POST /v1/unload_lora_adapter
// {lora_name}, both enabled only when the server runs with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True;
// requests name the adapter in `model`. SGLang: POST /load_lora_adapter and /unload_lora_adapter
// with the same bodies; OpenAI-compatible requests name it as "<base model>:<adapter name>".

/** Options of a vllm_lora model, read from its stored generation settings next to the openai ones. */
export const vllmLoraSettingsSchema = z.object({
  /** Adapter API flavour: vLLM's or SGLang's. */
  server: z.enum(["vllm", "sglang"]).default("vllm"),
  /** Most merged adapters loaded on the server at once; vLLM's --max-cpu-loras (default: --max-loras) is the useful upper bound. */
  maxLoadedAdapters: z.number().int().min(1).max(1024).default(4),
  /**
   * Path of the adapter cache folder on the server, when the server runs elsewhere (a container,
   * or another host with a shared mount). By default the server reads the local path.
   */
  serverAdapterDir: z.string().min(1).optional(),
});

export type VllmLoraSettings = z.output<typeof vllmLoraSettingsSchema>;

/** A change of the adapters loaded on a server, for logs and tests. "wait": a request waits for a slot held by requests in flight. */
export interface AdapterEvent {
  type: "load" | "unload" | "wait";
  endpoint: string;
  name: string;
}

export interface VllmLoraBackendOptions {
  /** Folder of merged adapters; HSWARM_ADAPTER_CACHE_DIR, else ./data/adapters. */
  adapterCacheDir?: string;
  /** Most merged adapters kept on disk. */
  maxCachedAdapters?: number;
  /** Limiters, retry policy, jitter and logger of the chat requests, which go through the openai backend. */
  openai?: OpenAIBackendOptions;
  /** HTTP client of the adapter endpoints; the global fetch by default. */
  fetch?: typeof fetch;
  onAdapterEvent?: (event: AdapterEvent) => void;
}

/** One vllm_lora model, ready to call. */
export interface VllmLoraModelConfig {
  spec: LoraModelSpec;
  openai: OpenAIModelConfig;
  lora: VllmLoraSettings;
  /** Pool indices of the expert basis, in pool order. */
  basis: number[];
}

/** Default folder of merged adapters, inside the project's ignored data folder. */
export function defaultAdapterCacheDir(): string {
  return process.env.HSWARM_ADAPTER_CACHE_DIR ?? join(process.cwd(), "data", "adapters");
}

/**
 * Reads and checks the vllm_lora models of a pool: endpoint, base model, adapter path, settings,
 * and that each expert basis contains vllm_lora models only. Throws an Error naming the model
 * and field at fault. Adapter files are read later, by the backend.
 */
export function vllmLoraModelConfigs(models: readonly LoraModelSpec[]): VllmLoraModelConfig[] {
  checkBasisKinds(models, "vllm_lora");

  return models
    .filter((model) => model.backend === "vllm_lora")
    .map((model) => {
      const where = `model ${model.index} ("${model.name}")`;
      if (model.baseModel === null || model.baseModel.trim() === "") throw new Error(`${where}: a vllm_lora model needs baseModel, the model the server serves`);
      if (model.adapterPath === null || model.adapterPath.trim() === "") throw new Error(`${where}: a vllm_lora model needs adapterPath, its PEFT adapter folder`);

      const openai = openaiModelConfig(model);
      const parsed = vllmLoraSettingsSchema.safeParse(model.generationSettings ?? {});
      if (!parsed.success) {
        const issues = parsed.error.issues.map((issue) => `generationSettings.${issue.path.join(".")}: ${issue.message}`).join("; ");
        throw new Error(`${where}: ${issues}`);
      }
      return { spec: model, openai, lora: parsed.data, basis: basisOf(models, model) };
    });
}

/** Backend of a pool's vllm_lora models, which it addresses by pool index. */
export class VllmLoraBackend implements Backend {
  private readonly configs = new Map<number, VllmLoraModelConfig>();
  private readonly servers = new Map<string, AdapterServer>();
  private readonly bases = new Map<string, Promise<PeftAdapter[]>>();
  private readonly identities = new Map<number, string>();
  private readonly cache: MergedAdapterCache;

  constructor(
    private readonly models: readonly LoraModelSpec[],
    private readonly options: VllmLoraBackendOptions = {},
  ) {
    const configs = vllmLoraModelConfigs(models);
    this.cache = new MergedAdapterCache({
      dir: options.adapterCacheDir ?? defaultAdapterCacheDir(),
      maxEntries: options.maxCachedAdapters,
      isInUse: (name) => [...this.servers.values()].some((server) => server.hasAdapter(name)),
    });

    for (const config of configs) this.configs.set(config.spec.index, config);

    // Models of one server share its adapter slots, with the smallest limit any of them sets.
    const limits = new Map<string, number>();
    for (const config of configs) limits.set(serverKey(config), Math.min(limits.get(serverKey(config)) ?? Infinity, config.lora.maxLoadedAdapters));

    for (const config of configs) {
      this.identities.set(config.spec.index, this.identityOf(config));
      const key = serverKey(config);
      if (!this.servers.has(key)) this.servers.set(key, new AdapterServer(config, limits.get(key) as number, options));
    }
  }

  /**
   * `vllm_lora:<server>:<endpoint>:<base model>:<api>:<basis fingerprint>`. The fingerprint covers
   * the basis adapters' paths, sizes and modification times, because coefficients only mean
   * something together with the adapters they weight. Never the key.
   */
  modelIdentity(model: number): string {
    const identity = this.identities.get(model);
    if (identity === undefined) throw new Error(`pool model ${model} is not a vllm_lora model of this backend`);
    return identity;
  }

  async generate(request: GenerationRequest): Promise<GenerationResult> {
    const config = this.configAt(request.model);
    const server = this.servers.get(serverKey(config)) as AdapterServer;

    let coefficients: number[];
    try {
      coefficients = coefficientsOnBasis(request.coefficients, config.spec, config.basis, this.models);
    } catch (error) {
      throw this.fatal(config, (error as Error).message, error);
    }

    const experts = await this.basisAdapters(config);
    let merged;
    try {
      merged = await this.cache.materialise(experts, coefficients);
    } catch (error) {
      throw this.fatal(config, `merging its adapter failed: ${(error as Error).message}`, error);
    }

    const serverPath = config.lora.serverAdapterDir === undefined ? merged.path : posix.join(config.lora.serverAdapterDir, merged.name);
    return server.generateWith(merged.name, serverPath, config, request);
  }

  /** Returns the basis adapters of a model, read and checked once per basis. */
  private basisAdapters(config: VllmLoraModelConfig): Promise<PeftAdapter[]> {
    const key = config.basis.join(",");
    let adapters = this.bases.get(key);
    if (adapters === undefined) {
      adapters = this.readBasis(config).catch((error) => {
        // A failed read is not kept, so that a fixed adapter folder is read again on the next request.
        this.bases.delete(key);
        throw error;
      });
      this.bases.set(key, adapters);
    }
    return adapters;
  }

  private async readBasis(config: VllmLoraModelConfig): Promise<PeftAdapter[]> {
    try {
      const experts = await Promise.all(
        config.basis.map((index) => {
          const expert = this.configAt(index).spec;
          return readPeftAdapter(expert.adapterPath as string, expert.name);
        }),
      );
      checkExpertBasis(experts);
      return experts;
    } catch (error) {
      if (error instanceof AdapterError) throw this.fatal(config, error.message, error);
      throw this.fatal(config, `reading its expert adapters failed: ${(error as Error).message}`, error);
    }
  }

  private identityOf(config: VllmLoraModelConfig): string {
    const fingerprint = createHash("sha256");
    for (const index of config.basis) {
      const path = this.configAt(index).spec.adapterPath as string;
      fingerprint.update(`${path}\0${fileStamp(join(path, ADAPTER_CONFIG_FILE))}\0${fileStamp(join(path, ADAPTER_WEIGHTS_FILE))}\0`);
    }
    const { openai, lora, spec } = config;
    return `vllm_lora:${lora.server}:${openai.endpoint}:${spec.baseModel}:${openai.settings.api}:${fingerprint.digest("hex").slice(0, 16)}`;
  }

  private configAt(index: number): VllmLoraModelConfig {
    const config = this.configs.get(index);
    if (config === undefined) throw new Error(`pool model ${index} is not a vllm_lora model of this backend`);
    return config;
  }

  private fatal(config: VllmLoraModelConfig, message: string, cause: unknown): BackendError {
    return new BackendError(`vllm_lora model "${config.spec.name}": ${message}`, { retryable: false, model: config.spec.name, endpoint: config.openai.endpoint, cause });
  }
}

function serverKey(config: VllmLoraModelConfig): string {
  return `${config.lora.server}:${serverRootOf(config.openai.endpoint)}`;
}

/** Size and modification time of a file, or "missing"; the backend reports a missing adapter when it first reads it. */
function fileStamp(path: string): string {
  try {
    const info = statSync(path);
    return `${info.size}:${info.mtimeMs}`;
  } catch {
    return "missing";
  }
}

/** Pattern of merged-adapter names, which distinguishes adapters an earlier process left loaded from the user's own. */
const MERGED_NAME = /^hswarm-[0-9a-f]{32}$/;

interface Slot {
  name: string;
  state: "loading" | "loaded" | "unloading";
  /** Requests that hold this adapter; a slot with requests in flight is never unloaded. */
  inFlight: number;
  lastUse: number;
  /** Settles when the current load or unload does. */
  settled: Promise<void>;
}

/**
 * The adapters loaded on one server: a bounded set of slots with least-recently-used
 * replacement. Slots that are loading, loaded or being unloaded all count, so the server never
 * has more than `maxLoaded` of this process's adapters, even while one is swapped for another.
 * NOTE: several workers that share one server each keep their own slots, so together they can
 * load more adapters than maxLoaded. One may also unload an adapter that another is using, and
 * the other then reloads it when its request fails with HTTP 404.
 */
class AdapterServer {
  private readonly slots = new Map<string, Slot>();
  private readonly waiters: (() => void)[] = [];
  private readonly chatBackends = new Map<string, OpenAIBackend>();
  private readonly fetch: typeof fetch;
  private readonly policy: RetryPolicy;
  private readonly root: string;
  private clock = 0;
  private adopted: Promise<void> | null = null;

  constructor(
    private readonly config: VllmLoraModelConfig,
    private readonly maxLoaded: number,
    private readonly options: VllmLoraBackendOptions,
  ) {
    this.fetch = options.fetch ?? fetch;
    this.root = serverRootOf(config.openai.endpoint);
    this.policy = { ...DEFAULT_RETRY_POLICY, maxAttempts: config.openai.settings.maxAttempts, baseDelayMs: config.openai.settings.retryBaseDelayMs, ...options.openai?.retry };
  }

  /** Returns whether this server has the adapter loaded, or is loading or unloading it. */
  hasAdapter(name: string): boolean {
    return this.slots.has(name);
  }

  /**
   * Runs a chat request with the adapter loaded. When the server responds with HTTP 404 (it was
   * restarted, or another worker unloaded the adapter), it loads the adapter again and retries once.
   */
  async generateWith(name: string, path: string, config: VllmLoraModelConfig, request: GenerationRequest): Promise<GenerationResult> {
    for (let attempt = 1; ; attempt++) {
      const slot = await this.acquire(name, path, config);
      try {
        return await this.chatBackend(name, config).generate({ ...request, coefficients: null });
      } catch (error) {
        if (attempt > 1 || !isNotFound(error)) throw error;
        this.options.openai?.logger?.warn({ model: config.spec.name, endpoint: config.openai.endpoint, adapter: name }, "the server does not have the adapter; loading it again");
        this.forget(slot);
      } finally {
        this.release(slot);
      }
    }
  }

  private async acquire(name: string, path: string, config: VllmLoraModelConfig): Promise<Slot> {
    await this.adoptLeftovers(config);

    for (;;) {
      const slot = this.slots.get(name);
      if (slot?.state === "loaded") {
        slot.inFlight += 1;
        slot.lastUse = ++this.clock;
        return slot;
      }
      if (slot?.state === "loading") {
        await slot.settled;
        continue;
      }
      if (slot?.state === "unloading") {
        await slot.settled.catch(() => undefined);
        continue;
      }

      if (this.slots.size < this.maxLoaded) return this.load(name, path, config);

      const victim = this.leastRecentlyUsedIdleSlot();
      if (victim !== null) {
        await this.unload(victim, config);
        continue;
      }
      this.options.onAdapterEvent?.({ type: "wait", endpoint: config.openai.endpoint, name });
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private release(slot: Slot): void {
    slot.inFlight -= 1;
    slot.lastUse = ++this.clock;
    this.wakeWaiters();
  }

  /** Drops a slot that the server no longer has, unless it was replaced meanwhile. */
  private forget(slot: Slot): void {
    if (this.slots.get(slot.name) === slot) this.slots.delete(slot.name);
    this.dropChatBackends(slot.name);
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private leastRecentlyUsedIdleSlot(): Slot | null {
    let victim: Slot | null = null;
    for (const slot of this.slots.values()) {
      if (slot.state === "loaded" && slot.inFlight === 0 && (victim === null || slot.lastUse < victim.lastUse)) victim = slot;
    }
    return victim;
  }

  private async load(name: string, path: string, config: VllmLoraModelConfig): Promise<Slot> {
    const slot: Slot = { name, state: "loading", inFlight: 1, lastUse: ++this.clock, settled: Promise.resolve() };
    slot.settled = this.sendLoad(name, path, config).then(
      () => {
        slot.state = "loaded";
      },
      (error: unknown) => {
        this.slots.delete(name);
        this.wakeWaiters();
        throw error;
      },
    );
    this.slots.set(name, slot);
    await slot.settled;
    this.options.onAdapterEvent?.({ type: "load", endpoint: config.openai.endpoint, name });
    return slot;
  }

  private async unload(slot: Slot, config: VllmLoraModelConfig): Promise<void> {
    slot.state = "unloading";
    slot.settled = this.sendUnload(slot.name, config).then(
      () => {
        this.slots.delete(slot.name);
        this.dropChatBackends(slot.name);
        this.wakeWaiters();
      },
      (error: unknown) => {
        slot.state = "loaded";
        this.wakeWaiters();
        throw error;
      },
    );
    await slot.settled;
    this.options.onAdapterEvent?.({ type: "unload", endpoint: config.openai.endpoint, name: slot.name });
  }

  private async sendLoad(name: string, path: string, config: VllmLoraModelConfig): Promise<void> {
    const url = this.adapterUrl("load_lora_adapter");
    try {
      await this.send(url, { lora_name: name, lora_path: path }, config);
    } catch (error) {
      // Loaded by an earlier process or another worker: the same name always means the same weights.
      if (error instanceof RetriesFailedError && error.cause instanceof HttpStatusError && isAlreadyLoaded(error.cause)) {
        this.options.openai?.logger?.warn({ model: config.spec.name, endpoint: config.openai.endpoint, adapter: name }, "the adapter was already loaded; using it");
        return;
      }
      throw this.adapterError("loading", name, path, url, error, config);
    }
  }

  private async sendUnload(name: string, config: VllmLoraModelConfig): Promise<void> {
    const url = this.adapterUrl("unload_lora_adapter");
    try {
      await this.send(url, { lora_name: name }, config);
    } catch (error) {
      // Already gone (a server restart): the slot is free either way.
      if (error instanceof RetriesFailedError && error.cause instanceof HttpStatusError && error.cause.status === 404 && !isMissingRoute(error.cause)) {
        this.options.openai?.logger?.warn({ model: config.spec.name, endpoint: config.openai.endpoint, adapter: name }, "the adapter to unload was not loaded on the server");
        return;
      }
      throw this.adapterError("unloading", name, null, url, error, config);
    }
  }

  private send(url: string, body: object, config: VllmLoraModelConfig): Promise<string> {
    const now = this.options.openai?.now ?? Date.now;
    return withRetries(
      () => sendJsonRequest({ method: "POST", url, body, apiKey: config.openai.apiKey, timeoutMs: config.openai.settings.timeoutMs, fetch: this.fetch }),
      (error) => classifyHttpFailure(error, now()),
      this.policy,
      { random: this.options.openai?.random ?? Math.random, sleep: this.options.openai?.sleep ?? sleep },
    );
  }

  /**
   * Counts merged adapters that the server already has, left by an earlier process, as idle
   * slots used longest ago, so that they are unloaded first and the server stays within
   * maxLoaded. vLLM lists adapters in GET /v1/models; the SGLang listing is not read.
   */
  private adoptLeftovers(config: VllmLoraModelConfig): Promise<void> {
    if (config.lora.server !== "vllm") return Promise.resolve();
    this.adopted ??= this.listLoadedAdapters(config).then(
      (names) => {
        for (const name of names) {
          if (!this.slots.has(name)) this.slots.set(name, { name, state: "loaded", inFlight: 0, lastUse: 0, settled: Promise.resolve() });
        }
      },
      (error: unknown) => {
        this.adopted = null;
        throw error;
      },
    );
    return this.adopted;
  }

  private async listLoadedAdapters(config: VllmLoraModelConfig): Promise<string[]> {
    const url = `${this.root}/v1/models`;
    const now = this.options.openai?.now ?? Date.now;
    let text: string;
    try {
      text = await withRetries(
        () => sendJsonRequest({ method: "GET", url, apiKey: config.openai.apiKey, timeoutMs: config.openai.settings.timeoutMs, fetch: this.fetch }),
        (error) => classifyHttpFailure(error, now()),
        this.policy,
        { random: this.options.openai?.random ?? Math.random, sleep: this.options.openai?.sleep ?? sleep },
      );
    } catch (error) {
      throw this.adapterError("listing the adapters of", "", null, url, error, config);
    }

    let data: { id?: unknown }[];
    try {
      data = (JSON.parse(text) as { data?: { id?: unknown }[] }).data ?? [];
    } catch {
      throw this.adapterError("listing the adapters of", "", null, url, new Error(`the response is not JSON: ${serverMessageOf(text)}`), config);
    }
    if (!Array.isArray(data)) throw this.adapterError("listing the adapters of", "", null, url, new Error("the response has no data list"), config);
    return data.map((model) => model.id).filter((id): id is string => typeof id === "string" && MERGED_NAME.test(id));
  }

  private adapterUrl(route: "load_lora_adapter" | "unload_lora_adapter"): string {
    return this.config.lora.server === "vllm" ? `${this.root}/v1/${route}` : `${this.root}/${route}`;
  }

  /** Returns the openai backend that calls the server with the adapter as the model, one per adapter and pool model. */
  private chatBackend(name: string, config: VllmLoraModelConfig): OpenAIBackend {
    const modelName = config.lora.server === "vllm" ? name : `${config.openai.modelName}:${name}`;
    const key = `${config.spec.index}\n${name}`;
    let backend = this.chatBackends.get(key);
    if (backend === undefined) {
      backend = new OpenAIBackend([{ ...config.openai, modelName }], this.options.openai);
      this.chatBackends.set(key, backend);
    }
    return backend;
  }

  private dropChatBackends(name: string): void {
    for (const key of this.chatBackends.keys()) {
      if (key.endsWith(`\n${name}`)) this.chatBackends.delete(key);
    }
  }

  private adapterError(action: string, name: string, path: string | null, url: string, error: unknown, config: VllmLoraModelConfig): BackendError {
    const last = error instanceof RetriesFailedError ? error.cause : error;
    const retryable = error instanceof RetriesFailedError ? error.retryable : false;
    const subject = name === "" ? `server ${this.root}` : `adapter ${name}`;
    let message = `vllm_lora model "${config.spec.name}": ${action} ${subject} failed: ${(last as Error)?.message ?? String(last)}`;

    if (last instanceof HttpStatusError && isMissingRoute(last)) {
      message +=
        config.lora.server === "vllm"
          ? ". The server has no runtime LoRA endpoints: start vLLM with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and --enable-lora"
          : ". The server has no runtime LoRA endpoints: start SGLang with --enable-lora";
    } else if (last instanceof HttpStatusError && path !== null && (last.status === 404 || /no adapter found|no such file/i.test(serverMessageOf(last.body)))) {
      message += `. The server cannot read ${path}: it must see the adapter cache folder at the same path, or set generationSettings.serverAdapterDir to where it does`;
    } else if (last instanceof HttpStatusError && /rank/i.test(serverMessageOf(last.body))) {
      message += ". Start the server with --max-lora-rank at least the adapters' r";
    }
    return new BackendError(message, { retryable, model: config.spec.name, endpoint: config.openai.endpoint, cause: error });
  }
}

/** FastAPI's answer for a route that does not exist, as vLLM gives without VLLM_ALLOW_RUNTIME_LORA_UPDATING. */
function isMissingRoute(error: HttpStatusError): boolean {
  return error.status === 404 && serverMessageOf(error.body) === "Not Found";
}

function isAlreadyLoaded(error: HttpStatusError): boolean {
  return error.status === 400 && /already (been )?(loaded|exists)/i.test(serverMessageOf(error.body));
}

/** Returns whether a chat call failed with HTTP 404, which here means that the server does not have the adapter. */
function isNotFound(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    if (current instanceof APIError && current.status === 404) return true;
    current = current.cause;
  }
  return false;
}
