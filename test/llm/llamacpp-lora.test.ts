import { afterEach, describe, expect, it } from "vitest";
import type { GenerationRequest } from "../../server/core/types";
import { BackendError } from "../../server/llm/errors";
import { createPoolBackend, type PoolModelSpec } from "../../server/llm/factory";
import { EndpointLimiters } from "../../server/llm/limiter";
import { LLAMACPP_LORA_MIXING_LABEL, LlamacppLoraBackend, llamacppLoraModelConfigs } from "../../server/llm/llamacpp-lora";
import type { LoraModelSpec } from "../../server/llm/lora-common";
import { FakeLlamacppServer } from "./fake-llamacpp-server";

// The llamacpp_lora backend against a fake llama-server on 127.0.0.1 that lists its --lora
// adapters and records each request's per-request "lora" scales.

const BASE = "tiny-base.Q8_0.gguf";
const ADAPTERS = ["/models/math.gguf", "/models/code.gguf", "/models/law.gguf"];

function request(model: number, coefficients: number[] | null): GenerationRequest {
  return { model, coefficients, prompt: "Name a prime.", settings: { temperature: 0, maxTokens: 32, topP: 1 }, item: { question: "q", answer: "2" }, previousResponses: [] };
}

describe("llamacpp_lora backend", () => {
  let server: FakeLlamacppServer | null = null;

  afterEach(async () => {
    await server?.close();
    server = null;
  });

  async function start(serverAdapters: string[]): Promise<string> {
    server = new FakeLlamacppServer(serverAdapters);
    return server.start();
  }

  function models(endpoint: string, overrides: Partial<LoraModelSpec>[] = [], settings: Record<string, unknown> = {}): LoraModelSpec[] {
    return ADAPTERS.map((adapterPath, index) => ({
      index,
      name: ["math", "code", "law"][index],
      backend: "llamacpp_lora",
      endpoint,
      modelName: BASE,
      apiKey: null,
      generationSettings: { maxAttempts: 1, ...settings },
      baseModel: BASE,
      adapterPath,
      weightCapable: true,
      ...overrides[index],
    }));
  }

  const backend = (specs: LoraModelSpec[]) => new LlamacppLoraBackend(specs, { openai: { limiters: new EndpointLimiters(), sleep: async () => undefined } });
  const fake = () => server as FakeLlamacppServer;

  it("sends one scale per adapter", async () => {
    const endpoint = await start(ADAPTERS);
    const result = await backend(models(endpoint)).generate(request(1, [0.2, 0.5, 0.3]));
    const lora = [
      { id: 0, scale: 0.2 },
      { id: 1, scale: 0.5 },
      { id: 2, scale: 0.3 },
    ];

    expect(fake().calls()).toEqual([
      { method: "GET", path: "/lora-adapters", body: null },
      {
        method: "POST",
        path: "/v1/chat/completions",
        body: { model: BASE, messages: [{ role: "user", content: "Name a prime." }], temperature: 0, top_p: 1, max_tokens: 32, stream: false, lora },
      },
    ]);
    expect(result).toEqual({ text: `answer with lora ${JSON.stringify(lora)}`, promptTokens: 5, completionTokens: 2 });
  });

  it("checks the server's adapter list once", async () => {
    const endpoint = await start(ADAPTERS);
    const lora = backend(models(endpoint));
    await lora.generate(request(0, [1, 0, 0]));
    await lora.generate(request(2, [0, 0, 1]));

    expect(fake().calls().filter((call) => call.path === "/lora-adapters")).toHaveLength(1);
  });

  it("applies the model's own adapter for null coefficients", async () => {
    const endpoint = await start(ADAPTERS);
    await backend(models(endpoint, [{}, {}, { weightCapable: false }])).generate(request(2, null));

    expect((fake().calls()[1].body as { lora: unknown }).lora).toEqual([
      { id: 0, scale: 0 },
      { id: 1, scale: 0 },
      { id: 2, scale: 1 },
    ]);
  });

  it("gives adapters outside the basis scale 0", async () => {
    const endpoint = await start(ADAPTERS);
    await backend(models(endpoint, [{}, {}, { weightCapable: false }])).generate(request(0, [0.6, 0.4, 0]));

    expect((fake().calls()[1].body as { lora: unknown }).lora).toEqual([
      { id: 0, scale: 0.6 },
      { id: 1, scale: 0.4 },
      { id: 2, scale: 0 },
    ]);
  });

  it("sends the scales with the completions API too", async () => {
    const endpoint = await start(ADAPTERS);
    await backend(models(endpoint, [], { api: "completions" })).generate(request(0, [0.5, 0.25, 0.25]));

    expect(fake().calls()[1]).toEqual({
      method: "POST",
      path: "/v1/completions",
      body: {
        model: BASE,
        prompt: "Name a prime.",
        temperature: 0,
        top_p: 1,
        max_tokens: 32,
        stream: false,
        lora: [
          { id: 0, scale: 0.5 },
          { id: 1, scale: 0.25 },
          { id: 2, scale: 0.25 },
        ],
      },
    });
  });

  it("rejects a different adapter count", async () => {
    const endpoint = await start(ADAPTERS.slice(0, 2));
    const failure = backend(models(endpoint)).generate(request(0, [1, 0, 0]));

    await expect(failure).rejects.toThrow(BackendError);
    await expect(failure).rejects.toThrow(
      `the llama.cpp server at ${endpoint.replace(/\/v1$/, "")} has 2 LoRA adapter(s), but the pool has 3 llamacpp_lora model(s) on it ("math", "code", "law"); start llama-server with one adapter per model, in pool order: --lora /models/math.gguf --lora /models/code.gguf --lora /models/law.gguf --lora-init-without-apply`,
    );
    expect(fake().calls().filter((call) => call.method === "POST")).toEqual([]);
  });

  it("rejects adapters in another order", async () => {
    const endpoint = await start(["/srv/code.gguf", "/srv/math.gguf", "/srv/law.gguf"]);
    const failure = backend(models(endpoint)).generate(request(0, [1, 0, 0]));

    await expect(failure).rejects.toThrow('adapter 0 on the llama.cpp server at');
    await expect(failure).rejects.toThrow('is /srv/code.gguf, but pool model 0 ("math") expects math.gguf');
  });

  it("rejects coefficients outside the model's basis", async () => {
    const endpoint = await start(ADAPTERS);
    const failure = backend(models(endpoint, [{}, {}, { weightCapable: false }])).generate(request(0, [0.5, 0, 0.5]));

    await expect(failure).rejects.toThrow('got coefficient 0.5 for model 2 ("law"), which is not in its expert basis');
    expect(fake().calls()).toEqual([]);
  });

  it("rejects experts of one base on two servers", () => {
    const specs = models("http://127.0.0.1:9001/v1", [{}, { endpoint: "http://127.0.0.1:9002/v1" }]);
    expect(() => llamacppLoraModelConfigs(specs)).toThrow("are experts of base");
  });

  it("rejects two bases on one server", () => {
    const specs = models("http://127.0.0.1:9001/v1", [{}, {}, { baseModel: "other.gguf", weightCapable: false }]);
    expect(() => llamacppLoraModelConfigs(specs)).toThrow('model 2 ("law") on the same llama.cpp server http://127.0.0.1:9001 has "other.gguf"');
  });

  it("names endpoint and base in identities", async () => {
    const endpoint = await start(ADAPTERS);
    const identity = backend(models(endpoint)).modelIdentity(0);

    expect(identity).toContain("llamacpp_lora:");
    expect(identity).toContain(endpoint);
    expect(identity).toContain(BASE);
  });

  it("serves llamacpp_lora pools built by the factory", async () => {
    const endpoint = await start(ADAPTERS);
    const specs: PoolModelSpec[] = models(endpoint).map((model) => ({ ...model, backend: "llamacpp_lora", simulated: null }));
    const pool = createPoolBackend(specs, { poolName: "gguf pool", domains: [], openai: { limiters: new EndpointLimiters() } });
    await pool.generate(request(0, [0.5, 0.5, 0]));

    expect((fake().calls()[1].body as { lora: unknown }).lora).toEqual([
      { id: 0, scale: 0.5 },
      { id: 1, scale: 0.5 },
      { id: 2, scale: 0 },
    ]);
  });

  it("labels its mixing as output-space", () => {
    expect(LLAMACPP_LORA_MIXING_LABEL).toBe("output-space mixing: sums the scaled low-rank updates, not the paper's element-wise merge of lora_A and lora_B");
  });
});
