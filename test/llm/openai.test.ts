import { afterEach, describe, expect, it } from "vitest";
import type { GenerationRequest } from "../../server/core/types";
import { GenerationCache } from "../../server/llm/cache";
import { BackendError } from "../../server/llm/errors";
import { EndpointLimiters } from "../../server/llm/limiter";
import { OpenAIBackend, openaiModelConfig, type OpenAIBackendOptions } from "../../server/llm/openai";
import { closedEndpoint, FAILURES, fakeAnswer, FakeOpenAIServer, fakeTokenCount, type FakeOpenAIOptions } from "./fake-openai-server";

// The openai backend against the fake OpenAI-compatible server on 127.0.0.1. Timing checks are
// lower bounds on the gaps between request arrivals that the fake records.

const settings = { temperature: 0, maxTokens: 64, topP: 1 };
const item = { question: "unused by real backends", answer: "A" };

const servers: FakeOpenAIServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function startFake(options: FakeOpenAIOptions = {}): Promise<FakeOpenAIServer> {
  const server = await FakeOpenAIServer.start(options);
  servers.push(server);
  return server;
}

interface ModelOverrides {
  name?: string;
  endpoint: string;
  modelName?: string;
  apiKey?: string | null;
  generationSettings?: Record<string, unknown>;
}

function config(index: number, overrides: ModelOverrides) {
  return openaiModelConfig({
    index,
    name: overrides.name ?? `model-${index}`,
    endpoint: overrides.endpoint,
    modelName: overrides.modelName ?? "fake-model",
    apiKey: overrides.apiKey ?? null,
    generationSettings: { retryBaseDelayMs: 10, ...overrides.generationSettings },
  });
}

/** Creates a backend with its own limiters, so that tests never share an endpoint's semaphore. */
function backendFor(models: ModelOverrides[], options: OpenAIBackendOptions = {}): OpenAIBackend {
  return new OpenAIBackend(
    models.map((model, index) => config(index, model)),
    { limiters: new EndpointLimiters(), ...options },
  );
}

function request(prompt: string, model = 0, coefficients: number[] | null = null): GenerationRequest {
  return { model, coefficients, prompt, settings, item, previousResponses: [] };
}

async function backendErrorOf(promise: Promise<unknown>): Promise<BackendError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof BackendError)) throw new Error(`expected a BackendError, but got ${String(error)}`);
  return error;
}

describe("openai backend: requests and replies", () => {
  it("returns the chat reply and its token usage", async () => {
    const fake = await startFake();
    const backend = backendFor([{ endpoint: fake.baseURL }]);

    const result = await backend.generate(request("Question: 2 + 2?"));

    expect(result.text).toBe(fakeAnswer("Question: 2 + 2?"));
    expect(result.promptTokens).toBe(fakeTokenCount("Question: 2 + 2?"));
    expect(result.completionTokens).toBe(fakeTokenCount(result.text));
  });

  it("sends the prompt as one user message with the settings", async () => {
    const fake = await startFake();
    const backend = backendFor([{ endpoint: fake.baseURL, modelName: "served-model" }]);

    await backend.generate({ ...request("Say A."), settings: { temperature: 0.3, maxTokens: 7, topP: 0.9 } });
    const [sent] = fake.requests;

    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.body?.model).toBe("served-model");
    expect(sent.body?.messages).toEqual([{ role: "user", content: "Say A." }]);
    expect(sent.body?.temperature).toBe(0.3);
    expect(sent.body?.max_tokens).toBe(7);
    expect(sent.body?.top_p).toBe(0.9);
  });

  it("uses plain completions when the settings say so", async () => {
    const fake = await startFake();
    const backend = backendFor([{ endpoint: fake.baseURL, generationSettings: { api: "completions" } }]);

    const result = await backend.generate(request("Complete this:"));
    const [sent] = fake.requests;

    expect(sent.path).toBe("/v1/completions");
    expect(sent.body?.prompt).toBe("Complete this:");
    expect(result.text).toBe(fakeAnswer("Complete this:"));
    expect(result.promptTokens).toBe(fakeTokenCount("Complete this:"));
  });

  it("sends the API key as a bearer token", async () => {
    const fake = await startFake({ apiKey: "sk-test-key" });
    const backend = backendFor([{ endpoint: fake.baseURL, apiKey: "sk-test-key" }]);

    await backend.generate(request("hello"));

    expect(fake.requests[0].authorization).toBe("Bearer sk-test-key");
  });

  it("sends no Authorization header without a key", async () => {
    const fake = await startFake();
    const backend = backendFor([{ endpoint: fake.baseURL }]);

    await backend.generate(request("hello"));

    expect(fake.requests[0].authorization).toBeNull();
  });

  it("names endpoint, model and API in its identity, never the key", async () => {
    const backend = backendFor([
      { endpoint: "http://127.0.0.1:9/v1/", modelName: "m", apiKey: "sk-secret" },
      { endpoint: "http://127.0.0.1:9/v1", modelName: "m", generationSettings: { api: "completions" } },
    ]);

    expect(backend.modelIdentity(0)).toBe("openai:http://127.0.0.1:9/v1:m");
    expect(backend.modelIdentity(1)).toBe("openai:http://127.0.0.1:9/v1:m:completions");
    expect(backend.modelIdentity(0)).not.toContain("sk-secret");
  });

  it("adds the usage of backend calls in the generation cache", async () => {
    const fake = await startFake();
    const cache = new GenerationCache(backendFor([{ endpoint: fake.baseURL }]));

    await cache.generate(request("first prompt"));
    await cache.generate(request("second prompt"));
    await cache.generate(request("first prompt"));
    const usage = cache.usage();

    expect(usage.backendCalls).toBe(2);
    expect(usage.cacheHits).toBe(1);
    expect(usage.promptTokens).toBe(fakeTokenCount("first prompt") + fakeTokenCount("second prompt"));
    expect(usage.completionTokens).toBeGreaterThan(0);
  });

  it("rejects merged coefficients without sending a request", async () => {
    const fake = await startFake();
    const backend = backendFor([{ endpoint: fake.baseURL }, { endpoint: fake.baseURL }]);

    const error = await backendErrorOf(backend.generate(request("merge", 0, [0.5, 0.5])));
    const oneHot = await backend.generate(request("one-hot", 1, [0, 1]));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain("set weightCapable to false");
    expect(oneHot.text).toBe(fakeAnswer("one-hot"));
    expect(fake.completionRequests()).toHaveLength(1);
  });
});

describe("openai backend: retries", () => {
  it("waits the Retry-After of a 429 in milliseconds", async () => {
    const fake = await startFake();
    fake.script(FAILURES.rateLimited({ "retry-after-ms": "300" }));
    // Jitter 0 makes the backoff 0, so the only wait is the server's.
    const backend = backendFor([{ endpoint: fake.baseURL }], { random: () => 0 });

    const result = await backend.generate(request("rate limited"));
    const [first, second] = fake.requests;

    expect(result.text).toBe(fakeAnswer("rate limited"));
    expect(fake.requests).toHaveLength(2);
    expect(first.outcome).toBe(429);
    expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(300);
    expect(backend.stats().retries).toBe(1);
  });

  it("waits the Retry-After of a 429 in seconds", async () => {
    const fake = await startFake();
    fake.script(FAILURES.rateLimited({ "retry-after": "1" }));
    const backend = backendFor([{ endpoint: fake.baseURL }], { random: () => 0 });

    await backend.generate(request("rate limited"));
    const [first, second] = fake.requests;

    expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(1000);
  });

  it("retries 500, 503 and a reset connection, then succeeds", async () => {
    const fake = await startFake();
    fake.script(FAILURES.serverError(), FAILURES.unavailable(), FAILURES.reset());
    const backend = backendFor([{ endpoint: fake.baseURL }]);

    const result = await backend.generate(request("flaky"));

    expect(result.text).toBe(fakeAnswer("flaky"));
    expect(fake.requests.map((sent) => sent.outcome)).toEqual([500, 503, "reset", 200]);
    expect(backend.stats()).toEqual({ requests: 4, retries: 3, failures: 0 });
  });

  it("backs off exponentially between retries", async () => {
    const fake = await startFake();
    fake.script(FAILURES.unavailable(), FAILURES.unavailable(), FAILURES.unavailable());
    // Jitter 1 makes each wait its cap: 100, 200 and 400 ms.
    const backend = backendFor([{ endpoint: fake.baseURL, generationSettings: { retryBaseDelayMs: 100 } }], { random: () => 0.999999 });

    await backend.generate(request("backoff"));
    const times = fake.requests.map((sent) => sent.receivedAt);

    expect(times[1] - times[0]).toBeGreaterThanOrEqual(99);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(199);
    expect(times[3] - times[2]).toBeGreaterThanOrEqual(399);
  });

  it("gives up after maxAttempts with a retryable error naming model and endpoint", async () => {
    const fake = await startFake();
    fake.failAlways(FAILURES.unavailable());
    const backend = backendFor([{ name: "pool-model", endpoint: fake.baseURL, modelName: "served-model", generationSettings: { maxAttempts: 3 } }]);

    const error = await backendErrorOf(backend.generate(request("down")));

    expect(error.retryable).toBe(true);
    expect(error.model).toBe("pool-model");
    expect(error.endpoint).toBe(fake.baseURL);
    expect(error.message).toContain('"pool-model"');
    expect(error.message).toContain('"served-model"');
    expect(error.message).toContain(fake.baseURL);
    expect(error.message).toContain("failed 3 attempt(s)");
    expect(error.message).toContain("HTTP 503: The server is overloaded");
    expect(fake.requests).toHaveLength(3);
  });

  it("reports a refused connection as retryable", async () => {
    const endpoint = await closedEndpoint();
    const backend = backendFor([{ endpoint, generationSettings: { maxAttempts: 2 } }]);

    const error = await backendErrorOf(backend.generate(request("nobody home")));

    expect(error.retryable).toBe(true);
    expect(error.message).toContain(endpoint);
    expect(error.message).toContain("ECONNREFUSED");
    expect(backend.stats().requests).toBe(2);
  });

  it("stops at once when Retry-After exceeds the limit", async () => {
    const fake = await startFake();
    fake.script(FAILURES.rateLimited({ "retry-after": "3600" }));
    const backend = backendFor([{ endpoint: fake.baseURL }]);

    const error = await backendErrorOf(backend.generate(request("come back in an hour")));

    expect(error.retryable).toBe(true);
    expect(error.message).toContain("asked to retry after 3600 s");
    expect(fake.requests).toHaveLength(1);
  });
});

describe("openai backend: fatal errors", () => {
  const cases = [
    {
      status: 401,
      fake: { apiKey: "sk-right-key" },
      model: { apiKey: "sk-wrong-key" },
      serverMessage: "Incorrect API key provided: sk-***ey (check",
      hint: "(check the model's API key)",
    },
    {
      status: 404,
      fake: { models: ["served-model"] },
      model: { modelName: "missing-model" },
      serverMessage: "The model `missing-model` does not exist or you do not have access to it (check",
      hint: "/models lists the models that the server serves",
    },
    {
      status: 400,
      fake: { contextTokens: 20 },
      model: {},
      serverMessage: "This model's maximum context length is 20 tokens.",
      hint: "shorten the task's prompts or lower maxTokens",
    },
  ];

  for (const { status, fake: fakeOptions, model, serverMessage, hint } of cases) {
    it(`fails HTTP ${status} at once with the server's message`, async () => {
      const fake = await startFake(fakeOptions);
      const backend = backendFor([{ name: "pool-model", endpoint: fake.baseURL, ...model }]);

      const error = await backendErrorOf(backend.generate(request("a prompt that is long enough to pass twenty tokens with sixty-four more")));

      expect(error.retryable).toBe(false);
      expect(error.model).toBe("pool-model");
      expect(error.message).toContain(`HTTP ${status}`);
      expect(error.message).toContain(serverMessage);
      expect(error.message).toContain(fake.baseURL);
      expect(error.message).toContain('"pool-model"');
      expect(error.message).toContain(hint);
      expect(fake.requests).toHaveLength(1);
    });
  }

  it("never puts the API key in an error message", async () => {
    const fake = await startFake({ apiKey: "sk-right-key" });
    const backend = backendFor([{ endpoint: fake.baseURL, apiKey: "sk-wrong-key" }]);

    const error = await backendErrorOf(backend.generate(request("hello")));

    expect(error.message).not.toContain("sk-wrong-key");
  });

  it("names the error code of the response", async () => {
    const fake = await startFake({ contextTokens: 20 });
    const backend = backendFor([{ endpoint: fake.baseURL }]);

    const error = await backendErrorOf(backend.generate(request("too long for twenty tokens of context")));

    expect(error.message).toContain("HTTP 400 (context_length_exceeded)");
  });
});

describe("openai backend: timeouts", () => {
  it("retries an attempt that times out", async () => {
    const fake = await startFake();
    fake.script(FAILURES.slow(2_000));
    const backend = backendFor([{ endpoint: fake.baseURL, generationSettings: { timeoutMs: 150 } }]);

    const result = await backend.generate(request("slow once"));

    expect(result.text).toBe(fakeAnswer("slow once"));
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[0].outcome).toBe("aborted");
  });

  it("reports attempts that all time out as retryable", async () => {
    const fake = await startFake();
    fake.failAlways(FAILURES.slow(2_000));
    const backend = backendFor([{ endpoint: fake.baseURL, generationSettings: { timeoutMs: 100, maxAttempts: 2 } }]);

    const error = await backendErrorOf(backend.generate(request("always slow")));

    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/no (complete )?response within 100 ms/);
    expect(fake.requests).toHaveLength(2);
  });
});

describe("openai backend: concurrency", () => {
  it("keeps at most the limit of requests in flight", async () => {
    const fake = await startFake({ latencyMs: 30 });
    const backend = backendFor([{ endpoint: fake.baseURL, generationSettings: { concurrency: 3 } }]);

    await Promise.all(Array.from({ length: 24 }, (_, i) => backend.generate(request(`prompt ${i}`))));

    expect(fake.completionRequests()).toHaveLength(24);
    expect(fake.maxInFlight).toBeLessThanOrEqual(3);
    expect(fake.maxInFlight).toBe(3);
  });

  it("shares the limit between the models of one endpoint", async () => {
    const fake = await startFake({ latencyMs: 30 });
    const backend = backendFor([
      { endpoint: fake.baseURL, modelName: "a", generationSettings: { concurrency: 2 } },
      { endpoint: `${fake.baseURL}/`, modelName: "b", generationSettings: { concurrency: 2 } },
    ]);

    await Promise.all(Array.from({ length: 16 }, (_, i) => backend.generate(request(`prompt ${i}`, i % 2))));

    expect(fake.maxInFlight).toBe(2);
  });

  it("shares the limit between backends of one process", async () => {
    const fake = await startFake({ latencyMs: 30 });
    const limiters = new EndpointLimiters();
    const models = [{ endpoint: fake.baseURL, generationSettings: { concurrency: 2 } }];
    const first = backendFor(models, { limiters });
    const second = backendFor(models, { limiters });

    await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? first : second).generate(request(`prompt ${i}`))));

    expect(fake.maxInFlight).toBe(2);
  });

  it("frees the permit while waiting to retry", async () => {
    const fake = await startFake({ latencyMs: 20 });
    fake.script(FAILURES.rateLimited({ "retry-after-ms": "400" }));
    const backend = backendFor([{ endpoint: fake.baseURL, generationSettings: { concurrency: 1 } }], { random: () => 0 });

    const limited = backend.generate(request("limited"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await backend.generate(request("other"));
    await limited;
    const order = fake.completionRequests().map((sent) => (sent.body?.messages as { content: string }[])[0].content);

    expect(order).toEqual(["limited", "other", "limited"]);
  });
});

describe("openai model settings", () => {
  it("rejects an endpoint that is not an http URL", () => {
    expect(() => config(0, { name: "m", endpoint: "ftp://127.0.0.1/v1" })).toThrow('model 0 ("m"): endpoint must be an http(s) URL');
  });

  it("rejects an unknown API kind", () => {
    expect(() => config(0, { name: "m", endpoint: "http://127.0.0.1:9/v1", generationSettings: { api: "responses" } })).toThrow('model 0 ("m"): generationSettings.api');
  });

  it("defaults to chat, 8 in flight and 2 minutes", () => {
    const parsed = config(0, { endpoint: "http://127.0.0.1:9/v1" });

    expect(parsed.settings.api).toBe("chat");
    expect(parsed.settings.concurrency).toBe(8);
    expect(parsed.settings.timeoutMs).toBe(120_000);
  });
});
