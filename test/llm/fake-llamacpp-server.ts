import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A stand-in for llama-server started with `--lora FILE` per adapter and --lora-init-without-apply,
// on 127.0.0.1. GET /lora-adapters lists the adapters as [{id, path, scale}] in flag order; the
// completion routes accept a per-request "lora": [{id, scale}] field and echo it back, so tests
// can see what the server received.

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export class FakeLlamacppServer {
  readonly requests: RecordedRequest[] = [];
  private server: Server | null = null;

  /** `adapterPaths` as given to --lora, in order; their ids are 0, 1, … */
  constructor(readonly adapterPaths: string[]) {}

  /** Starts listening on 127.0.0.1 and returns the OpenAI base URL, ending in /v1. */
  async start(): Promise<string> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => (this.server as Server).listen(0, "127.0.0.1", resolve));
    const { port } = (this.server as Server).address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
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

    if (request.method === "GET" && path === "/lora-adapters") {
      return sendJson(response, 200, this.adapterPaths.map((adapterPath, id) => ({ id, path: adapterPath, scale: 0 })));
    }

    const lora = (body as { lora?: { id: number; scale: number }[] } | null)?.lora ?? [];
    const invalid = lora.find((entry) => !Number.isInteger(entry.id) || entry.id < 0 || entry.id >= this.adapterPaths.length);
    if (invalid !== undefined) {
      return sendJson(response, 400, { error: { code: 400, message: `invalid adapter id ${invalid.id}`, type: "invalid_request_error" } });
    }

    const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };
    const content = `answer with lora ${JSON.stringify(lora)}`;
    if (request.method === "POST" && path === "/v1/chat/completions") {
      return sendJson(response, 200, {
        id: "chatcmpl-1",
        object: "chat.completion",
        created: 1_700_000_000,
        model: (body as { model?: string }).model ?? "",
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        usage,
      });
    }
    if (request.method === "POST" && path === "/v1/completions") {
      return sendJson(response, 200, {
        id: "cmpl-1",
        object: "text_completion",
        created: 1_700_000_000,
        model: (body as { model?: string }).model ?? "",
        choices: [{ index: 0, text: content, finish_reason: "stop", logprobs: null }],
        usage,
      });
    }
    sendJson(response, 404, { error: { code: 404, message: "File Not Found", type: "not_found_error" } });
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
