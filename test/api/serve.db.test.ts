import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPrisma } from "../../server/db/client";
import { BackendError } from "../../server/llm/errors";
import { createOpenAIApi } from "../../server/systems/openai-api";
import { runStoredSystem } from "../../server/systems/run";
import { silentLogger } from "../setup/database";
import { createApiHarness, type ApiHarness } from "./context";
import { definitionOf, seedPool, seedSystem, TREE_SYSTEM } from "./system-fixture";

// The OpenAI-compatible API as a client sees it: the Next.js route handlers of app/api/v1 served
// by a node:http adapter on 127.0.0.1, called through the official openai SDK.

type Handler = (request: Request, params: Record<string, string>) => Promise<Response>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

interface TestServer {
  baseURL: string;
  close(): Promise<void>;
}

/** Converts a node:http request to a fetch Request, the input of a Next.js route handler. */
async function toRequest(message: IncomingMessage, origin: string): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    if (Array.isArray(value)) value.forEach((v) => headers.append(name, v));
    else if (value !== undefined) headers.set(name, value);
  }

  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  const body = message.method === "GET" || message.method === "HEAD" ? undefined : Buffer.concat(chunks);
  return new Request(new URL(message.url ?? "/", origin), { method: message.method, headers, body });
}

/** Writes a fetch Response to a node:http response, streaming the body chunk by chunk. */
async function writeResponse(response: Response, out: ServerResponse): Promise<void> {
  out.statusCode = response.status;
  response.headers.forEach((value, name) => out.setHeader(name, value));
  if (response.body === null) {
    out.end();
    return;
  }
  out.flushHeaders();
  const reader = response.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) out.write(read.value);
  out.end();
}

/** Starts an HTTP server on 127.0.0.1 that dispatches to `routes` by method and path. */
async function serve(routes: Route[]): Promise<TestServer> {
  const server: Server = createServer((message, out) => {
    void (async () => {
      const origin = `http://${message.headers.host ?? "127.0.0.1"}`;
      const path = new URL(message.url ?? "/", origin).pathname;
      for (const route of routes) {
        const match = route.pattern.exec(path);
        if (route.method === message.method && match) {
          await writeResponse(await route.handler(await toRequest(message, origin), match.groups ?? {}), out);
          return;
        }
      }
      out.statusCode = 404;
      out.end();
    })().catch((error: unknown) => {
      out.statusCode = 500;
      out.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/api/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const QUESTION = "What is 12 times 7?";

let api: ApiHarness;
let server: TestServer;
let systemId: string;

beforeAll(async () => {
  api = await createApiHarness();
  const pool = await seedPool(api.db.prisma, "serve pool");
  systemId = (await seedSystem(api.db.prisma, "served tree", definitionOf(pool, TREE_SYSTEM))).id;

  // The route handlers open the database named by DATABASE_URL on their first request.
  process.env.DATABASE_URL = api.db.url;
  delete process.env.HSWARM_API_KEY;
  const models = await import("../../app/api/v1/models/route");
  const model = await import("../../app/api/v1/models/[model]/route");
  const completions = await import("../../app/api/v1/chat/completions/route");
  server = await serve([
    { method: "GET", pattern: /^\/api\/v1\/models$/, handler: (request) => models.GET(request) },
    { method: "GET", pattern: /^\/api\/v1\/models\/(?<model>[^/]+)$/, handler: (request, params) => model.GET(request, { params: Promise.resolve({ model: decodeURIComponent(params.model) }) }) },
    { method: "POST", pattern: /^\/api\/v1\/chat\/completions$/, handler: (request) => completions.POST(request) },
  ]);
});

afterAll(async () => {
  delete process.env.HSWARM_API_KEY;
  await server?.close();
  if (api) await getPrisma(api.db.url).$disconnect();
  await api?.close();
});

function client(apiKey = "unused"): OpenAI {
  return new OpenAI({ baseURL: server.baseURL, apiKey, maxRetries: 0 });
}

async function rejectionOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => null,
    (caught: unknown) => caught,
  );
}

describe("GET /api/v1/models", () => {
  it("lists the stored systems", async () => {
    const page = await client().models.list();
    const served = page.data.find((entry) => entry.id === systemId);

    expect(served?.object).toBe("model");
    expect(served?.owned_by).toBe("hswarm");
    expect(typeof served?.created).toBe("number");
  });

  it("retrieves one system by id", async () => {
    const served = await client().models.retrieve(systemId);

    expect(served.id).toBe(systemId);
  });

  it("returns 404 for an unknown system", async () => {
    const error = await rejectionOf(client().models.retrieve("no-such-system"));

    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe("POST /api/v1/chat/completions", () => {
  it("returns the DAG's answer", async () => {
    const completion = await client().chat.completions.create({ model: systemId, messages: [{ role: "user", content: QUESTION }] });
    const direct = await runStoredSystem(api.db.prisma, systemId, QUESTION);

    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe(systemId);
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0].message.role).toBe("assistant");
    expect(completion.choices[0].message.content).toBe(direct.answer);
    expect(completion.choices[0].finish_reason).toBe("stop");
  });

  it("reports the tokens of every node's call", async () => {
    const completion = await client().chat.completions.create({ model: systemId, messages: [{ role: "user", content: QUESTION }] });
    const direct = await runStoredSystem(api.db.prisma, systemId, QUESTION);

    expect(completion.usage?.prompt_tokens).toBe(direct.usage.promptTokens);
    expect(completion.usage?.completion_tokens).toBe(direct.usage.completionTokens);
    expect(completion.usage?.total_tokens).toBe(direct.usage.promptTokens + direct.usage.completionTokens);
  });

  it("answers the last user message of a conversation", async () => {
    const completion = await client().chat.completions.create({
      model: systemId,
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "What is 2 + 2?" },
        { role: "assistant", content: "4" },
        { role: "user", content: [{ type: "text", text: QUESTION }] },
      ],
      temperature: 0.7,
    });
    const direct = await runStoredSystem(api.db.prisma, systemId, QUESTION);

    expect(completion.choices[0].message.content).toBe(direct.answer);
  });

  it("streams the answer as chunks ending with [DONE]", async () => {
    const stream = await client().chat.completions.create({
      model: systemId,
      messages: [{ role: "user", content: QUESTION }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const direct = await runStoredSystem(api.db.prisma, systemId, QUESTION);

    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe("assistant");
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe(direct.answer);
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe("stop");
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage?.total_tokens).toBe(direct.usage.promptTokens + direct.usage.completionTokens);
  });

  it("sends data: [DONE] at the end of a stream", async () => {
    const response = await fetch(`${server.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: systemId, messages: [{ role: "user", content: QUESTION }], stream: true }),
    });
    const text = await response.text();

    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("returns 404 for an unknown model", async () => {
    const error = await rejectionOf(client().chat.completions.create({ model: "no-such-system", messages: [{ role: "user", content: QUESTION }] }));

    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).param).toBe("model");
  });

  it("returns 404 for an unknown model before streaming", async () => {
    const error = await rejectionOf(client().chat.completions.create({ model: "no-such-system", messages: [{ role: "user", content: QUESTION }], stream: true }));

    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe("request validation", () => {
  it("rejects an empty message list, naming the field", async () => {
    const error = await rejectionOf(client().chat.completions.create({ model: systemId, messages: [] }));

    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages");
  });

  it("rejects a conversation without a user message", async () => {
    const error = await rejectionOf(client().chat.completions.create({ model: systemId, messages: [{ role: "system", content: "Be brief." }] }));

    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as Error).message).toContain("must contain a user message");
  });

  it("rejects an empty question", async () => {
    const error = await rejectionOf(client().chat.completions.create({ model: systemId, messages: [{ role: "user", content: "  " }] }));

    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages.0.content");
  });

  it("rejects an image part, naming it", async () => {
    const error = await rejectionOf(
      client().chat.completions.create({
        model: systemId,
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] }],
      }),
    );

    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages.0.content.0.type");
  });

  it("rejects more than one choice", async () => {
    const error = await rejectionOf(client().chat.completions.create({ model: systemId, messages: [{ role: "user", content: QUESTION }], n: 2 }));

    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("n");
  });

  it("rejects invalid JSON in OpenAI's shape", async () => {
    const response = await fetch(`${server.baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{model:" });
    const body = (await response.json()) as { error: Record<string, unknown> };

    expect(response.status).toBe(400);
    expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("not valid JSON");
  });
});

describe("access key", () => {
  const KEY = "hswarm-test-key-7f3a9c";

  it("rejects requests without the key with 401", async () => {
    process.env.HSWARM_API_KEY = KEY;
    try {
      const response = await fetch(`${server.baseURL}/models`);
      const body = (await response.json()) as { error: { code: string; message: string } };

      expect(response.status).toBe(401);
      expect(body.error.code).toBe("missing_api_key");
      expect(body.error.message).not.toContain(KEY);
    } finally {
      delete process.env.HSWARM_API_KEY;
    }
  });

  it("rejects a wrong key with 401", async () => {
    process.env.HSWARM_API_KEY = KEY;
    try {
      const error = await rejectionOf(client("wrong-key").chat.completions.create({ model: systemId, messages: [{ role: "user", content: QUESTION }] }));

      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe("invalid_api_key");
    } finally {
      delete process.env.HSWARM_API_KEY;
    }
  });

  it("accepts the right key", async () => {
    process.env.HSWARM_API_KEY = KEY;
    try {
      const completion = await client(KEY).chat.completions.create({ model: systemId, messages: [{ role: "user", content: QUESTION }] });
      const page = await client(KEY).models.list();

      expect(completion.choices[0].message.content).toBeTruthy();
      expect(page.data.map((entry) => entry.id)).toContain(systemId);
    } finally {
      delete process.env.HSWARM_API_KEY;
    }
  });

  it("is not checked while HSWARM_API_KEY is unset", async () => {
    const response = await fetch(`${server.baseURL}/models`);

    expect(response.status).toBe(200);
  });
});

describe("backend failures", () => {
  let failing: TestServer;

  beforeAll(async () => {
    const failingApi = createOpenAIApi({
      prisma: async () => api.db.prisma,
      apiKey: () => undefined,
      logger: silentLogger,
      run: {
        backendFactory: () => ({
          modelIdentity: (model) => `down:${model}`,
          generate: async () => {
            throw new BackendError("connection refused", { retryable: true, model: "expert-b", endpoint: "http://127.0.0.1:9/v1" });
          },
        }),
      },
    });
    failing = await serve([{ method: "POST", pattern: /^\/api\/v1\/chat\/completions$/, handler: (request) => failingApi.createChatCompletion(request) }]);
  });

  afterAll(async () => {
    await failing?.close();
  });

  it("return 503 naming the model", async () => {
    const failingClient = new OpenAI({ baseURL: failing.baseURL, apiKey: "unused", maxRetries: 0 });
    const error = await rejectionOf(failingClient.chat.completions.create({ model: systemId, messages: [{ role: "user", content: QUESTION }] }));

    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((error as Error).message).toContain('model "expert-b"');
  });

  it("end a stream with an error event", async () => {
    const failingClient = new OpenAI({ baseURL: failing.baseURL, apiKey: "unused", maxRetries: 0 });
    const stream = await failingClient.chat.completions.create({ model: systemId, messages: [{ role: "user", content: QUESTION }], stream: true });

    const error = await rejectionOf(
      (async () => {
        for await (const _chunk of stream) {
          // Reads until the error event.
        }
      })(),
    );

    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toContain("connection refused");
  });
});
