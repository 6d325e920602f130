import type { FailureClass } from "./retry";
import { parseRetryAfter } from "./retry";

// Parts shared by the two runtime-LoRA backends (vllm-lora, llamacpp-lora): which pool models
// form an expert basis, how a request's coefficients map onto it, and small HTTP helpers for
// the servers' adapter endpoints, which the openai SDK does not cover.

/** The fields of a pool model that the LoRA backends read; the factory's PoolModelSpec has them all. */
export interface LoraModelSpec {
  index: number;
  name: string;
  backend: string;
  endpoint: string | null;
  modelName: string;
  apiKey: string | null;
  generationSettings: Record<string, unknown>;
  baseModel: string | null;
  adapterPath: string | null;
  weightCapable: boolean;
}

/** Coefficients this close to 0 (or, for a fixed model, to 1) are treated as exact. */
const COEFFICIENT_TOLERANCE = 1e-9;

/**
 * Returns the pool indices of the expert basis of `model`. The basis is every weight-capable
 * model with the same base model, in pool order, as the search groups them. A model whose
 * weights cannot move forms a basis of its own.
 */
export function basisOf(models: readonly LoraModelSpec[], model: LoraModelSpec): number[] {
  if (!model.weightCapable) return [model.index];
  return models.filter((other) => other.weightCapable && other.baseModel === model.baseModel).map((other) => other.index);
}

/**
 * Throws an Error naming the model unless every weight-capable model that shares a base model
 * with a `kind` model is also a `kind` model. The search mixes all experts of one base, so one
 * backend must be able to apply all of them.
 */
export function checkBasisKinds(models: readonly LoraModelSpec[], kind: string): void {
  for (const model of models) {
    if (model.backend !== kind || !model.weightCapable) continue;
    const other = models.find((candidate) => candidate.weightCapable && candidate.baseModel === model.baseModel && candidate.backend !== kind);
    if (other !== undefined) {
      throw new Error(
        `model ${other.index} ("${other.name}") is a weight-capable ${other.backend} model with base model "${model.baseModel}", like ${kind} model "${model.name}"; the experts of one base must all use the ${kind} backend`,
      );
    }
  }
}

/**
 * Restricts the request's coefficients to `basis`, in basis order. Null coefficients mean the
 * model's own weights (1 on itself). Throws an Error naming the pool model when a coefficient
 * outside the basis is not 0, or when a model whose weights cannot move is asked to merge.
 */
export function coefficientsOnBasis(coefficients: readonly number[] | null, model: LoraModelSpec, basis: readonly number[], models: readonly LoraModelSpec[]): number[] {
  if (coefficients === null) return basis.map((index) => (index === model.index ? 1 : 0));
  if (coefficients.length !== models.length) {
    throw new Error(`model "${model.name}" got ${coefficients.length} coefficients, but the pool has ${models.length} models`);
  }

  coefficients.forEach((c, k) => {
    if (!Number.isFinite(c)) throw new Error(`model "${model.name}" got coefficient ${c} for model ${k}; coefficients must be finite`);
    if (!basis.includes(k) && Math.abs(c) > COEFFICIENT_TOLERANCE) {
      throw new Error(`model "${model.name}" got coefficient ${c} for model ${k} ("${models[k].name}"), which is not in its expert basis (models ${basis.join(", ")} of base "${model.baseModel}")`);
    }
  });

  if (!model.weightCapable && Math.abs(coefficients[model.index] - 1) > COEFFICIENT_TOLERANCE) {
    throw new Error(`the weights of model "${model.name}" cannot change (weightCapable is false), but the request merges it with coefficients [${coefficients.join(", ")}]`);
  }
  return basis.map((index) => coefficients[index]);
}

/** Returns the server's root URL, where the adapter routes are: the endpoint without a trailing "/v1". */
export function serverRootOf(endpoint: string): string {
  return endpoint.replace(/\/+$/, "").replace(/\/v1$/, "");
}

/** A response with a status outside 2xx from an adapter endpoint. `body` is the raw response text. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly headers: Headers,
    url: string,
  ) {
    super(`HTTP ${status} from ${url}: ${serverMessageOf(body)}`);
    this.name = "HttpStatusError";
  }
}

/** A request to an adapter endpoint that got no response: connection failure or timeout. */
export class HttpConnectionError extends Error {
  constructor(url: string, cause: unknown) {
    super(`no response from ${url}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = "HttpConnectionError";
  }
}

export interface JsonRequest {
  method: "GET" | "POST";
  url: string;
  body?: unknown;
  apiKey: string | null;
  timeoutMs: number;
  fetch: typeof fetch;
}

/** Sends one request and returns the response text; throws HttpStatusError or HttpConnectionError. */
export async function sendJsonRequest(request: JsonRequest): Promise<string> {
  const headers: Record<string, string> = {};
  if (request.body !== undefined) headers["Content-Type"] = "application/json";
  if (request.apiKey !== null) headers.Authorization = `Bearer ${request.apiKey}`;

  let response: Response;
  try {
    response = await request.fetch(request.url, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    throw new HttpConnectionError(request.url, error);
  }

  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new HttpConnectionError(request.url, error);
  }
  if (!response.ok) throw new HttpStatusError(response.status, text, response.headers, request.url);
  return text;
}

/** Connection failures, timeouts, HTTP 408, 429 and 5xx are retryable; other statuses are not. */
export function classifyHttpFailure(error: unknown, nowMs: number): FailureClass {
  if (error instanceof HttpConnectionError) return { retryable: true, retryAfterMs: null };
  if (error instanceof HttpStatusError) {
    const retryable = error.status === 408 || error.status === 429 || error.status >= 500;
    return { retryable, retryAfterMs: retryable ? parseRetryAfter(error.headers, nowMs) : null };
  }
  return { retryable: false, retryAfterMs: null };
}

/**
 * Extracts the human-readable message of an error body: vLLM's {"error": {"message"}} or older
 * {"message"}, SGLang's {"error_message"}, FastAPI's {"detail"}, or the text itself.
 */
export function serverMessageOf(body: string): string {
  try {
    const json = JSON.parse(body) as Record<string, unknown>;
    const nested = json.error as { message?: unknown } | undefined;
    for (const candidate of [nested?.message, json.message, json.error_message, json.detail]) {
      if (typeof candidate === "string" && candidate !== "") return candidate;
    }
  } catch {
    // Not JSON: vLLM answers adapter requests with plain text.
  }
  const text = body.trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
