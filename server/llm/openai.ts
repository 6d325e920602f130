import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import { z } from "zod";
import { Rng } from "../core/rng";
import type { GenerationRequest, GenerationResult } from "../core/types";
import type { Backend } from "./backend";
import { BackendError } from "./errors";
import { processEndpointLimiters, type EndpointLimiters, type Semaphore } from "./limiter";
import { DEFAULT_RETRY_POLICY, parseRetryAfter, RetriesFailedError, sleep, withRetries, type FailureClass, type RetryPolicy } from "./retry";

// Backend for any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, SGLang, LM Studio,
// hosted APIs) through the official `openai` SDK. The SDK's own retries are off: this module
// retries, so that every retry is counted and logged and honours the server's Retry-After.

/** Options of an openai model, read from its stored generation settings next to temperature, maxTokens and topP. */
export const openaiSettingsSchema = z.object({
  /** "chat": POST /chat/completions with the prompt as one user message; "completions": POST /completions with the raw prompt. */
  api: z.enum(["chat", "completions"]).default("chat"),
  /** Requests in flight at once to the model's endpoint, shared by all models of that endpoint. */
  concurrency: z.number().int().min(1).max(1024).default(8),
  /** Time limit of one attempt, from sending the request to reading the whole response, in ms. */
  timeoutMs: z.number().int().min(1).max(3_600_000).default(120_000),
  /** Attempts per call, the first included. */
  maxAttempts: z.number().int().min(1).max(20).default(DEFAULT_RETRY_POLICY.maxAttempts),
  /** Backoff cap before the first retry, in ms; it doubles per retry. */
  retryBaseDelayMs: z.number().int().min(0).max(600_000).default(DEFAULT_RETRY_POLICY.baseDelayMs),
});

export type OpenAISettings = z.output<typeof openaiSettingsSchema>;

/** One openai model, ready to call. */
export interface OpenAIModelConfig {
  /** Position in the pool. */
  index: number;
  /** The pool model's display name. */
  name: string;
  /** Base URL without trailing slashes, such as "http://127.0.0.1:8000/v1". */
  endpoint: string;
  modelName: string;
  apiKey: string | null;
  settings: OpenAISettings;
}

/** The parts of a pino logger that the backend uses. */
export interface BackendLogger {
  warn(fields: object, message: string): void;
}

export interface OpenAIBackendOptions {
  /** Concurrency limits per endpoint; the process-wide ones by default. */
  limiters?: EndpointLimiters;
  /** Overrides of the retry policy for every model; maxAttempts and baseDelayMs default to each model's settings. */
  retry?: Partial<RetryPolicy>;
  /** Source of the retry jitter, uniform in [0, 1); a seeded generator by default. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  logger?: BackendLogger;
  /** Clock for Retry-After dates, in ms since the epoch. */
  now?: () => number;
}

/** Counters of one backend's HTTP traffic. */
export interface OpenAIBackendStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  retries: number;
  /** Calls that ended in a BackendError. */
  failures: number;
}

/** Seed of the default jitter generator. Jitter changes when retries are sent, never their results. */
const JITTER_SEED = 0x6a177e5;

/** Minimum ms between two retry log lines of one endpoint; the lines in between are counted. */
const RETRY_LOG_INTERVAL_MS = 5_000;

/**
 * Reads an openai model's configuration from its pool entry. Throws an Error naming the model
 * and the field for a missing or invalid endpoint or invalid settings.
 */
export function openaiModelConfig(model: { index: number; name: string; endpoint: string | null; modelName: string; apiKey: string | null; generationSettings: unknown }): OpenAIModelConfig {
  const where = `model ${model.index} ("${model.name}")`;
  if (model.endpoint === null || model.endpoint.trim() === "") throw new Error(`${where}: the openai backend needs the server's base URL in endpoint`);
  const endpoint = normalizeEndpoint(model.endpoint, where);
  if (model.modelName.trim() === "") throw new Error(`${where}: modelName must name the model that the server serves`);

  const parsed = openaiSettingsSchema.safeParse(model.generationSettings ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `generationSettings.${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`${where}: ${issues}`);
  }
  return { index: model.index, name: model.name, endpoint, modelName: model.modelName, apiKey: model.apiKey, settings: parsed.data };
}

/** Returns the base URL without trailing slashes, so that one server has one limiter and one identity. */
export function normalizeEndpoint(endpoint: string, where: string): string {
  const trimmed = endpoint.trim().replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new Error(`${where}: endpoint must be an http(s) URL such as "http://127.0.0.1:8000/v1", but got "${endpoint}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`${where}: endpoint must be an http(s) URL, but got protocol "${url.protocol}"`);
  }
  return trimmed;
}

/**
 * Backend of a pool's openai models, which it addresses by pool index. Every call holds a
 * permit of its endpoint's semaphore while a request is in flight, but not while it waits to
 * retry. Token counts come from the response's `usage`, when the server sends it.
 */
export class OpenAIBackend implements Backend {
  private readonly models = new Map<number, { config: OpenAIModelConfig; client: OpenAI; limiter: Semaphore; policy: RetryPolicy }>();
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly counters: OpenAIBackendStats = { requests: 0, retries: 0, failures: 0 };
  private readonly retryLog = new Map<string, { loggedAt: number; suppressed: number }>();

  constructor(
    configs: readonly OpenAIModelConfig[],
    private readonly options: OpenAIBackendOptions = {},
  ) {
    const limiters = options.limiters ?? processEndpointLimiters;
    const jitter = Rng.fromSeed(JITTER_SEED);
    this.random = options.random ?? (() => jitter.next());
    this.sleep = options.sleep ?? sleep;
    this.now = options.now ?? Date.now;

    // Models of one endpoint share its semaphore, with the smallest limit any of them sets.
    const limits = new Map<string, number>();
    for (const config of configs) limits.set(config.endpoint, Math.min(limits.get(config.endpoint) ?? Infinity, config.settings.concurrency));

    for (const config of configs) {
      const policy: RetryPolicy = {
        ...DEFAULT_RETRY_POLICY,
        maxAttempts: config.settings.maxAttempts,
        baseDelayMs: config.settings.retryBaseDelayMs,
        ...options.retry,
      };
      const limiter = limiters.forEndpoint(config.endpoint, limits.get(config.endpoint) as number);
      this.models.set(config.index, { config, client: createClient(config), limiter, policy });
    }
  }

  /** `openai:<endpoint>:<model name>`, plus `:completions` for the completions API, whose outputs differ from chat's. Never the key. */
  modelIdentity(model: number): string {
    const { config } = this.modelAt(model);
    const suffix = config.settings.api === "completions" ? ":completions" : "";
    return `openai:${config.endpoint}:${config.modelName}${suffix}`;
  }

  stats(): OpenAIBackendStats {
    return { ...this.counters };
  }

  async generate(request: GenerationRequest): Promise<GenerationResult> {
    const entry = this.modelAt(request.model);
    const { config } = entry;
    checkFixedWeights(request, config);

    const attempt = () =>
      entry.limiter.run(() => {
        this.counters.requests += 1;
        return sendRequest(entry.client, config, request);
      });
    const hooks = {
      random: this.random,
      sleep: this.sleep,
      onRetry: ({ attempt: attemptNumber, delayMs, error }: { attempt: number; delayMs: number; error: unknown }) => {
        this.counters.retries += 1;
        this.logRetry(config, attemptNumber, entry.policy.maxAttempts, delayMs, error);
      },
    };

    try {
      return await withRetries(attempt, (error) => classifyFailure(error, this.now()), entry.policy, hooks);
    } catch (error) {
      this.counters.failures += 1;
      throw toBackendError(error, config, entry.policy);
    }
  }

  private modelAt(model: number) {
    const entry = this.models.get(model);
    if (entry === undefined) throw new Error(`pool model ${model} is not an openai model of this backend`);
    return entry;
  }

  /** Logs a retry, at most one line per endpoint every RETRY_LOG_INTERVAL_MS, with the count of lines left out. */
  private logRetry(config: OpenAIModelConfig, attemptNumber: number, maxAttempts: number, delayMs: number, error: unknown): void {
    const logger = this.options.logger;
    if (logger === undefined) return;

    const now = Date.now();
    const state = this.retryLog.get(config.endpoint) ?? { loggedAt: -Infinity, suppressed: 0 };
    this.retryLog.set(config.endpoint, state);
    if (now - state.loggedAt < RETRY_LOG_INTERVAL_MS) {
      state.suppressed += 1;
      return;
    }

    logger.warn(
      { model: config.name, endpoint: config.endpoint, attempt: attemptNumber, maxAttempts, delayMs, retriesNotLogged: state.suppressed, err: describeFailure(error, config) },
      "backend request failed; retrying",
    );
    state.loggedAt = now;
    state.suppressed = 0;
  }
}

function createClient(config: OpenAIModelConfig): OpenAI {
  return new OpenAI({
    baseURL: config.endpoint,
    // The SDK requires a key. A model without one sends no Authorization header: the null in
    // defaultHeaders removes it. Organization and project are set to null so that the SDK
    // does not read OPENAI_ORG_ID and OPENAI_PROJECT_ID from the environment and send them.
    apiKey: config.apiKey ?? "no-key",
    defaultHeaders: config.apiKey === null ? { Authorization: null } : undefined,
    organization: null,
    project: null,
    maxRetries: 0,
    timeout: config.settings.timeoutMs,
  });
}

/** An attempt that took longer than the model's timeoutMs, body included. */
class AttemptTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no complete response within ${timeoutMs} ms`);
    this.name = "AttemptTimeoutError";
  }
}

/** A 2xx response that is not a completion. */
class MalformedResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedResponseError";
  }
}

/** Sends one attempt and reads its text and token counts. */
async function sendRequest(client: OpenAI, config: OpenAIModelConfig, request: GenerationRequest): Promise<GenerationResult> {
  // The SDK's timeout covers the wait for the response headers only, so this one also covers the body.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), config.settings.timeoutMs);
  const requestOptions = { signal: controller.signal, maxRetries: 0 };
  const { temperature, maxTokens, topP } = request.settings;

  try {
    if (config.settings.api === "completions") {
      const completion = await client.completions.create(
        { model: config.modelName, prompt: request.prompt, temperature, top_p: topP, max_tokens: maxTokens, stream: false },
        requestOptions,
      );
      const choice = completion.choices?.[0];
      if (choice === undefined || typeof choice.text !== "string") throw new MalformedResponseError("the completion response has no choices[0].text");
      return withUsage(choice.text, completion.usage);
    }

    const completion = await client.chat.completions.create(
      { model: config.modelName, messages: [{ role: "user", content: request.prompt }], temperature, top_p: topP, max_tokens: maxTokens, stream: false },
      requestOptions,
    );
    const message = completion.choices?.[0]?.message;
    if (message === undefined) throw new MalformedResponseError("the chat completion response has no choices[0].message");
    // A refusal has null content and the reason in `refusal`; either is the model's output.
    return withUsage(message.content ?? message.refusal ?? "", completion.usage);
  } catch (error) {
    if (controller.signal.aborted) throw new AttemptTimeoutError(config.settings.timeoutMs);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function withUsage(text: string, usage: { prompt_tokens?: number; completion_tokens?: number } | null | undefined): GenerationResult {
  const result: GenerationResult = { text };
  if (typeof usage?.prompt_tokens === "number") result.promptTokens = usage.prompt_tokens;
  if (typeof usage?.completion_tokens === "number") result.completionTokens = usage.completion_tokens;
  return result;
}

/** The weights of an openai model cannot change: coefficients must be null or one-hot on the model itself. */
function checkFixedWeights(request: GenerationRequest, config: OpenAIModelConfig): void {
  const { coefficients } = request;
  if (coefficients === null) return;
  const oneHot = coefficients.every((c, k) => (k === request.model ? Math.abs(c - 1) < 1e-9 : Math.abs(c) < 1e-9));
  if (oneHot) return;
  throw new BackendError(
    `the weights of openai model "${config.modelName}" at ${config.endpoint} cannot change, but the request merges it with coefficients [${coefficients.map((c) => c.toFixed(3)).join(", ")}]; set weightCapable to false for this model`,
    { retryable: false, model: config.name, endpoint: config.endpoint },
  );
}

/**
 * Sorts a failed attempt. HTTP 408, 429 and 5xx, connection errors and timeouts are retryable.
 * Other HTTP errors (400, 401, 403, 404, 422, …) and malformed responses are fatal.
 */
export function classifyFailure(error: unknown, nowMs: number): FailureClass {
  if (error instanceof AttemptTimeoutError || error instanceof APIConnectionError) return { retryable: true, retryAfterMs: null };
  if (error instanceof APIError && typeof error.status === "number") {
    const retryable = error.status === 408 || error.status === 429 || error.status >= 500;
    return { retryable, retryAfterMs: retryable ? parseRetryAfter(error.headers, nowMs) : null };
  }
  return { retryable: false, retryAfterMs: null };
}

/** One-line description of an attempt's failure, with the server's own message. */
export function describeFailure(error: unknown, config: Pick<OpenAIModelConfig, "settings">): string {
  if (error instanceof AttemptTimeoutError) return error.message;
  if (error instanceof APIConnectionTimeoutError) return `no response within ${config.settings.timeoutMs} ms`;
  if (error instanceof APIConnectionError) return `connection failed (${networkCode(error) ?? error.message})`;
  if (error instanceof APIError && typeof error.status === "number") {
    const body = error.error as { message?: unknown } | undefined;
    const serverMessage = typeof body?.message === "string" ? body.message : error.message.replace(/^\d+\s*/, "");
    const code = typeof error.code === "string" && error.code !== "" ? ` (${error.code})` : "";
    return `HTTP ${error.status}${code}: ${serverMessage.trim().replace(/\.$/, "")}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Finds the first Node error code (ECONNREFUSED, ECONNRESET, …) in an error's chain of causes. */
function networkCode(error: unknown): string | null {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== null && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/** Returns advice on what the user can change after a fatal HTTP error, or an empty string. */
function fatalHint(error: unknown, config: OpenAIModelConfig): string {
  if (!(error instanceof APIError)) return "";
  if (error.status === 401 || error.status === 403) return " (check the model's API key)";
  if (error.status === 404) return ` (check the model name: GET ${config.endpoint}/models lists the models that the server serves)`;
  if (error.status === 400) return " (for a context length error, shorten the task's prompts or lower maxTokens)";
  return "";
}

function toBackendError(error: unknown, config: OpenAIModelConfig, policy: RetryPolicy): BackendError {
  if (error instanceof BackendError) return error;

  const served = config.modelName === config.name ? `model "${config.name}"` : `model "${config.name}" (served as "${config.modelName}")`;
  const details = { model: config.name, endpoint: config.endpoint, cause: error };
  if (!(error instanceof RetriesFailedError)) {
    return new BackendError(`${served} at ${config.endpoint}: ${describeFailure(error, config)}`, { ...details, retryable: false });
  }

  const last = describeFailure(error.cause, config);
  switch (error.reason) {
    case "fatal":
      return new BackendError(`${served} at ${config.endpoint}: ${last}${fatalHint(error.cause, config)}`, { ...details, retryable: false });
    case "exhausted":
      return new BackendError(`${served} at ${config.endpoint} failed ${error.attempts} attempt(s); last error: ${last}`, { ...details, retryable: true });
    case "retry-after-too-long":
      return new BackendError(
        `${served} at ${config.endpoint} asked to retry after ${Math.ceil((error.retryAfterMs ?? 0) / 1000)} s, longer than the ${Math.round(policy.maxRetryAfterMs / 1000)} s limit; last error: ${last}`,
        { ...details, retryable: true },
      );
  }
}
