import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

// A stand-in for a vLLM (or SGLang) server with runtime LoRA updating, on 127.0.0.1. It follows
// the documented request and response shapes: vLLM answers adapter requests with plain text on
// success and {"error": {message, type, param, code}} on failure, and FastAPI's {"detail":
// "Not Found"} for a route that does not exist (runtime updating disabled); SGLang answers
// {success, error_message} with HTTP 200 or 400. It records every request for the tests.

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or null for requests without one. */
  body: unknown;
}

/** What the server read from an adapter folder when it loaded it, so tests can check the files as they were then. */
export interface LoadedAdapterFiles {
  path: string;
  config: unknown;
  safetensors: Buffer;
}

interface HeldChat {
  received: Promise<void>;
  release: () => void;
  markReceived: () => void;
  gate: Promise<void>;
}

export class FakeVllmServer {
  readonly requests: RecordedRequest[] = [];
  /** Adapters loaded now, by name. */
  readonly loaded = new Map<string, LoadedAdapterFiles>();
  /** Every load, in order, with the files as they were at load time. */
  readonly loadHistory: { name: string; files: LoadedAdapterFiles }[] = [];
  /** Maximum number of adapters loaded at the same time. */
  maxLoadedSeen = 0;
  /** False: the adapter routes do not exist, as in vLLM without VLLM_ALLOW_RUNTIME_LORA_UPDATING=True. */
  runtimeLoraUpdating = true;
  /** Number of chat or completion requests rejected with 404 because the model was neither the base model nor a loaded adapter. */
  unknownModelRequests = 0;
  /** Called for each unload request, before the response is sent. */
  onUnload: ((name: string) => void) | null = null;

  private server: Server | null = null;
  private readonly held: HeldChat[] = [];

  constructor(
    readonly flavor: "vllm" | "sglang" = "vllm",
    readonly baseModel = "tiny/base-model",
  ) {}

  /** Starts listening on 127.0.0.1 and returns the OpenAI base URL, ending in /v1. */
  async start(): Promise<string> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => (this.server as Server).listen(0, "127.0.0.1", resolve));
    const { port } = (this.server as Server).address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1`;
  }

  async close(): Promise<void> {
    for (const held of this.held) held.release();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Forgets every adapter, as a restarted server does. */
  restart(): void {
    this.loaded.clear();
  }

  /** Pretends an earlier process left this adapter loaded. */
  preload(name: string): void {
    this.loaded.set(name, { path: `/elsewhere/${name}`, config: null, safetensors: Buffer.alloc(0) });
    this.maxLoadedSeen = Math.max(this.maxLoadedSeen, this.loaded.size);
  }

  /**
   * Holds the response to the next chat or completion request, whatever its model, until
   * `release` is called; `received` resolves when that request arrives.
   */
  holdNextCompletion(): { received: Promise<void>; release: () => void } {
    let markReceived = () => undefined as void;
    let release = () => undefined as void;
    const received = new Promise<void>((resolve) => (markReceived = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.held.push({ received, release, markReceived, gate });
    return { received, release };
  }

  /** Returns the recorded requests without headers, for exact comparisons. */
  calls(): { method: string; path: string; body: unknown }[] {
    return this.requests.map(({ method, path, body }) => ({ method, path, body }));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const text = await readBody(request);
    const body = text === "" ? null : JSON.parse(text);
    const path = request.url ?? "";
    this.requests.push({ method: request.method ?? "", path, headers: request.headers, body });

    const prefix = this.flavor === "vllm" ? "/v1" : "";
    if (request.method === "POST" && path === `${prefix}/load_lora_adapter` && this.runtimeLoraUpdating) return this.load(request, body, response);
    if (request.method === "POST" && path === `${prefix}/unload_lora_adapter` && this.runtimeLoraUpdating) return this.unload(body, response);
    if (request.method === "POST" && (path === "/v1/chat/completions" || path === "/v1/completions")) return this.complete(path, body, response);
    if (request.method === "GET" && path === "/v1/models") return this.models(response);
    sendJson(response, 404, { detail: "Not Found" });
  }

  private load(request: IncomingMessage, body: { lora_name?: string; lora_path?: string }, response: ServerResponse): void {
    if (this.flavor === "vllm" && request.headers["content-type"] !== "application/json") {
      return sendJson(response, 415, { error: { message: "Unsupported Media Type: Only 'application/json' is allowed", type: "BadRequestError", param: null, code: 415 } });
    }
    const name = body?.lora_name;
    const path = body?.lora_path;
    if (!name || !path) return this.fail(response, 400, "Both 'lora_name' and 'lora_path' must be provided.", "InvalidUserInput");
    if (this.loaded.has(name)) return this.fail(response, 400, `The lora adapter '${name}' has already been loaded.`, "InvalidUserInput");

    const configPath = join(path, "adapter_config.json");
    const weightsPath = join(path, "adapter_model.safetensors");
    if (!existsSync(configPath) || !existsSync(weightsPath)) return this.fail(response, 404, `Loading lora ${name} failed: No adapter found for ${path}`, "NotFoundError");

    const files = { path, config: JSON.parse(readFileSync(configPath, "utf8")), safetensors: readFileSync(weightsPath) };
    this.loaded.set(name, files);
    this.loadHistory.push({ name, files });
    this.maxLoadedSeen = Math.max(this.maxLoadedSeen, this.loaded.size);

    if (this.flavor === "vllm") sendText(response, 200, `Success: LoRA adapter '${name}' added successfully.`);
    else sendJson(response, 200, { success: true, error_message: null, loaded_adapters: Object.fromEntries([...this.loaded].map(([n, f]) => [n, f.path])) });
  }

  private unload(body: { lora_name?: string }, response: ServerResponse): void {
    const name = body?.lora_name ?? "";
    this.onUnload?.(name);
    if (!this.loaded.has(name)) return this.fail(response, 404, `The lora adapter '${name}' cannot be found.`, "NotFoundError");

    this.loaded.delete(name);
    if (this.flavor === "vllm") sendText(response, 200, `Success: LoRA adapter '${name}' removed successfully.`);
    else sendJson(response, 200, { success: true, error_message: null, loaded_adapters: Object.fromEntries([...this.loaded].map(([n, f]) => [n, f.path])) });
  }

  private async complete(path: string, body: { model?: string }, response: ServerResponse): Promise<void> {
    const model = body?.model ?? "";
    const adapter = this.flavor === "vllm" ? model : model.startsWith(`${this.baseModel}:`) ? model.slice(this.baseModel.length + 1) : null;
    const known = model === this.baseModel || (adapter !== null && this.loaded.has(adapter));
    if (!known) {
      this.unknownModelRequests += 1;
      return sendJson(response, 404, { error: { message: `The model \`${model}\` does not exist.`, type: "NotFoundError", param: "model", code: 404 } });
    }

    const held = this.held.shift();
    if (held !== undefined) {
      held.markReceived();
      await held.gate;
    }

    const usage = { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 };
    const created = 1_700_000_000;
    if (path === "/v1/completions") {
      return sendJson(response, 200, { id: "cmpl-1", object: "text_completion", created, model, choices: [{ index: 0, text: `completion by ${model}`, finish_reason: "stop", logprobs: null }], usage });
    }
    sendJson(response, 200, {
      id: "chatcmpl-1",
      object: "chat.completion",
      created,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: `answer by ${model}` }, finish_reason: "stop", logprobs: null }],
      usage,
    });
  }

  private models(response: ServerResponse): void {
    const data = [
      { id: this.baseModel, object: "model", created: 0, owned_by: "vllm", root: this.baseModel, parent: null },
      ...[...this.loaded].map(([name, files]) => ({ id: name, object: "model", created: 0, owned_by: "vllm", root: files.path, parent: this.baseModel })),
    ];
    sendJson(response, 200, { object: "list", data });
  }

  private fail(response: ServerResponse, status: number, message: string, type: string): void {
    if (this.flavor === "vllm") sendJson(response, status, { error: { message, type, param: null, code: status } });
    else sendJson(response, 400, { success: false, error_message: message });
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "Content-Type": "application/json" });
  response.end(JSON.stringify(body));
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  response.end(text);
}
