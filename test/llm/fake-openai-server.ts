// A fake OpenAI-compatible server on 127.0.0.1 for tests and benchmarks. It implements
// POST /v1/chat/completions, POST /v1/completions and GET /v1/models with the response and
// error shapes of the OpenAI API reference ({"error": {"message", "type", "param", "code"}}),
// answers deterministically from a hash of the prompt, and records every request with its
// arrival time and the number of requests in flight.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

/** A scripted outcome for one of the next completion requests, in place of the normal response. */
export type ScriptedFailure =
  /** Responds with this status, an OpenAI error body (or `body`) and extra headers such as Retry-After. */
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string> }
  /** Resets the TCP connection (RST) without responding. */
  | { kind: "reset" }
  /** Waits `ms` before handling the request normally: a slow server, for timeouts. */
  | { kind: "delay"; ms: number };

export interface FakeOpenAIOptions {
  /** Delay of every completion response, in ms. */
  latencyMs?: number;
  /** Served model ids; a request for another model gets 404 model_not_found. Any model is served when absent. */
  models?: string[];
  /** Required bearer key; a request without it gets 401 invalid_api_key. No key is required when absent. */
  apiKey?: string;
  /** Context window in tokens: prompt tokens plus max_tokens above it get 400 context_length_exceeded. */
  contextTokens?: number;
  /** The reply to a prompt; fakeAnswer by default. */
  answer?: (prompt: string) => string;
}

export interface RecordedRequest {
  method: string;
  /** Path with the /v1 prefix, such as "/v1/chat/completions". */
  path: string;
  /** Parsed JSON body, or null for GET and unparsable bodies. */
  body: Record<string, unknown> | null;
  /** The Authorization header, or null when absent. */
  authorization: string | null;
  /** Arrival time, from performance.now() in ms. */
  receivedAt: number;
  /** HTTP status sent, or "reset" / "aborted" (the client went away first), or null while in flight. */
  outcome: number | "reset" | "aborted" | null;
}

/** Tokens of a text as the fake counts them: one per 4 characters, rounded up. */
export function fakeTokenCount(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Returns the fake's default reply: "The answer is X.", X one of A-D chosen by a SHA-256 of the prompt. */
export function fakeAnswer(prompt: string): string {
  const letter = "ABCD"[createHash("sha256").update(prompt).digest()[0] % 4];
  return `The answer is ${letter}.`;
}

/** Builds an error body in the OpenAI API's shape. */
export function openaiErrorBody(message: string, type: string, code: string | null, param: string | null = null) {
  return { error: { message, type, param, code } };
}

/** Scripted failures with the bodies that the OpenAI API sends. */
export const FAILURES = {
  rateLimited: (headers: Record<string, string> = {}): ScriptedFailure => ({
    kind: "status",
    status: 429,
    headers,
    body: openaiErrorBody("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
  }),
  serverError: (): ScriptedFailure => ({ kind: "status", status: 500, body: openaiErrorBody("The server had an error while processing your request.", "server_error", null) }),
  unavailable: (): ScriptedFailure => ({ kind: "status", status: 503, body: openaiErrorBody("The server is overloaded, please try again later.", "server_error", null) }),
  reset: (): ScriptedFailure => ({ kind: "reset" }),
  slow: (ms: number): ScriptedFailure => ({ kind: "delay", ms }),
} as const;

export class FakeOpenAIServer {
  readonly requests: RecordedRequest[] = [];
  /** Completion requests being handled now, and the most ever at once. */
  inFlight = 0;
  maxInFlight = 0;

  private readonly scripted: ScriptedFailure[] = [];
  private persistentFailure: ScriptedFailure | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    private readonly options: FakeOpenAIOptions,
    /** Base URL to configure clients with, such as "http://127.0.0.1:41234/v1". */
    readonly baseURL: string,
  ) {}

  /** Starts a server on 127.0.0.1 at a free port. */
  static async start(options: FakeOpenAIOptions = {}): Promise<FakeOpenAIServer> {
    let fake: FakeOpenAIServer | null = null;
    const server = createServer((request, response) => void fake?.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    fake = new FakeOpenAIServer(server, options, `http://127.0.0.1:${port}/v1`);
    return fake;
  }

  /** Queues failures for the next completion requests, one each, in order. */
  script(...failures: ScriptedFailure[]): void {
    this.scripted.push(...failures);
  }

  /** Fails every completion request this way until called with null. */
  failAlways(failure: ScriptedFailure | null): void {
    this.persistentFailure = failure;
  }

  /** Recorded completion requests (chat and plain), in arrival order. */
  completionRequests(): RecordedRequest[] {
    return this.requests.filter((request) => request.path.endsWith("/completions"));
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const receivedAt = performance.now();
    const path = (request.url ?? "/").split("?")[0];
    const text = await readBody(request);
    const record: RecordedRequest = { method: request.method ?? "GET", path, body: parseJson(text), authorization: request.headers.authorization ?? null, receivedAt, outcome: null };
    this.requests.push(record);

    const isCompletion = request.method === "POST" && (path === "/v1/chat/completions" || path === "/v1/completions");
    if (isCompletion) this.enter(response, record);

    if (this.options.apiKey !== undefined && record.authorization !== `Bearer ${this.options.apiKey}`) {
      return this.send(response, record, 401, openaiErrorBody(invalidKeyMessage(record.authorization), "invalid_request_error", "invalid_api_key"));
    }

    if (request.method === "GET" && path === "/v1/models") {
      const data = (this.options.models ?? ["fake-model"]).map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "fake" }));
      return this.send(response, record, 200, { object: "list", data });
    }
    if (!isCompletion) {
      return this.send(response, record, 404, openaiErrorBody(`Invalid URL (${request.method} ${path})`, "invalid_request_error", null));
    }

    const failure = this.scripted.shift() ?? this.persistentFailure;
    if (failure?.kind === "reset") {
      record.outcome = "reset";
      request.socket.resetAndDestroy();
      return;
    }
    if (failure?.kind === "status") {
      return this.send(response, record, failure.status, failure.body ?? openaiErrorBody(`scripted HTTP ${failure.status}`, "server_error", null), failure.headers);
    }

    const delayMs = (this.options.latencyMs ?? 0) + (failure?.kind === "delay" ? failure.ms : 0);
    if (delayMs > 0) await this.wait(delayMs);
    if (response.destroyed || response.writableEnded) return;

    const [status, body] = this.complete(path, record.body);
    this.send(response, record, status, body);
  }

  /** Counts the request as in flight until its response ends or its connection closes. */
  private enter(response: ServerResponse, record: RecordedRequest): void {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    response.once("close", () => {
      this.inFlight -= 1;
      if (record.outcome === null) record.outcome = "aborted";
    });
  }

  /** Builds the response to a well-formed completion request, or the 400 or 404 that the API sends for a bad one. */
  private complete(path: string, body: Record<string, unknown> | null): [number, unknown] {
    const chat = path === "/v1/chat/completions";
    const invalid = (message: string, param: string | null) => [400, openaiErrorBody(message, "invalid_request_error", null, param)] as [number, unknown];

    if (body === null) return invalid("We could not parse the JSON body of your request.", null);
    if (typeof body.model !== "string" || body.model === "") return invalid("you must provide a model parameter", "model");
    let prompt: string | null;
    if (chat) prompt = promptOfMessages(body.messages);
    else prompt = typeof body.prompt === "string" ? body.prompt : null;
    if (prompt === null) return chat ? invalid("messages must be a non-empty array of {role, content} objects", "messages") : invalid("prompt must be a string", "prompt");
    const maxTokens = body.max_tokens ?? 16;
    if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1) return invalid(`${JSON.stringify(body.max_tokens)} is less than the minimum of 1 - 'max_tokens'`, "max_tokens");
    if (body.temperature !== undefined && !(typeof body.temperature === "number" && body.temperature >= 0 && body.temperature <= 2)) return invalid("temperature must be in [0, 2]", "temperature");
    if (body.top_p !== undefined && !(typeof body.top_p === "number" && body.top_p >= 0 && body.top_p <= 1)) return invalid("top_p must be in [0, 1]", "top_p");

    if (this.options.models !== undefined && !this.options.models.includes(body.model)) {
      return [404, openaiErrorBody(`The model \`${body.model}\` does not exist or you do not have access to it.`, "invalid_request_error", "model_not_found")];
    }

    const promptTokens = fakeTokenCount(prompt);
    const limit = this.options.contextTokens;
    if (limit !== undefined && promptTokens + (maxTokens as number) > limit) {
      const message = `This model's maximum context length is ${limit} tokens. However, you requested ${promptTokens + (maxTokens as number)} tokens (${promptTokens} in the messages, ${maxTokens as number} in the completion). Please reduce the length of the messages or completion.`;
      return [400, openaiErrorBody(message, "invalid_request_error", "context_length_exceeded", "messages")];
    }

    // A reply longer than max_tokens is cut, with finish_reason "length", as the API does.
    const full = (this.options.answer ?? fakeAnswer)(prompt);
    const text = full.slice(0, (maxTokens as number) * 4);
    const finishReason = text.length < full.length ? "length" : "stop";
    const usage = { prompt_tokens: promptTokens, completion_tokens: fakeTokenCount(text), total_tokens: promptTokens + fakeTokenCount(text) };
    const id = createHash("sha256").update(prompt).digest("hex").slice(0, 12);
    const created = 1_700_000_000;

    if (chat) {
      const choice = { index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: finishReason };
      return [200, { id: `chatcmpl-${id}`, object: "chat.completion", created, model: body.model, choices: [choice], usage, system_fingerprint: "fake" }];
    }
    const choice = { text, index: 0, logprobs: null, finish_reason: finishReason };
    return [200, { id: `cmpl-${id}`, object: "text_completion", created, model: body.model, choices: [choice], usage }];
  }

  private send(response: ServerResponse, record: RecordedRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (response.destroyed) return;
    record.outcome = status;
    response.writeHead(status, { "content-type": "application/json", ...headers });
    response.end(JSON.stringify(body));
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", () => resolve(""));
  });
}

function parseJson(text: string): Record<string, unknown> | null {
  if (text === "") return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Joins the text of a chat request's messages by newlines; returns null when they are malformed. */
function promptOfMessages(messages: unknown): string | null {
  if (!Array.isArray(messages) || messages.length === 0) return null;
  const parts: string[] = [];
  for (const message of messages) {
    const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== "string" || typeof content !== "string") return null;
    parts.push(content);
  }
  return parts.join("\n");
}

/** Builds the 401 message, with the key masked as the API masks it. */
function invalidKeyMessage(authorization: string | null): string {
  if (authorization === null) return "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth.";
  const key = authorization.replace(/^Bearer\s+/i, "");
  const masked = key.length > 6 ? `${key.slice(0, 3)}***${key.slice(-2)}` : "***";
  return `Incorrect API key provided: ${masked}.`;
}

/** Returns a base URL on 127.0.0.1 at a port that was free a moment ago, where nothing listens. */
export async function closedEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}
