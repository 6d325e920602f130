import { afterEach, describe, expect, it } from "vitest";
import type { GenerationRequest } from "../../server/core/types";
import { checkPoolModels, createPoolBackend, PoolConfigurationError, type PoolModelSpec } from "../../server/llm/factory";
import { EndpointLimiters } from "../../server/llm/limiter";
import { SIMULATED_PRESETS, SimulatedBackend } from "../../server/llm/simulated";
import { fakeAnswer, FakeOpenAIServer } from "./fake-openai-server";

// createPoolBackend: which backend serves each pool model, and which pools it rejects.

const domains = ["algebra", "biology"];
let fake: FakeOpenAIServer | null = null;

afterEach(async () => {
  await fake?.close();
  fake = null;
});

function openaiModel(index: number, endpoint: string, overrides: Partial<PoolModelSpec> = {}): PoolModelSpec {
  return {
    index,
    name: `remote-${index}`,
    backend: "openai",
    endpoint,
    modelName: `served-${index}`,
    apiKey: null,
    generationSettings: {},
    baseModel: null,
    adapterPath: null,
    weightCapable: false,
    simulated: null,
    ...overrides,
  };
}

function simulatedModel(index: number): PoolModelSpec {
  const expert = SIMULATED_PRESETS.complementary.experts[index];
  return { ...openaiModel(index, ""), name: expert.name, backend: "simulated", endpoint: null, modelName: expert.name, weightCapable: true, simulated: expert };
}

function configurationError(models: PoolModelSpec[]): PoolConfigurationError {
  try {
    checkPoolModels(models, "pool");
  } catch (error) {
    if (error instanceof PoolConfigurationError) return error;
    throw error;
  }
  throw new Error("expected a PoolConfigurationError");
}

const item = { question: "q", answer: "A" };
const settings = { temperature: 0, maxTokens: 16, topP: 1 };

describe("createPoolBackend", () => {
  it("builds the simulated backend for an all-simulated pool", () => {
    const backend = createPoolBackend([simulatedModel(0), simulatedModel(1)], { poolName: "sim", domains });

    expect(backend).toBeInstanceOf(SimulatedBackend);
    expect(backend.modelIdentity(1)).toBe("simulated:sim:0:1");
  });

  it("routes each openai model to its endpoint", async () => {
    fake = await FakeOpenAIServer.start();
    const backend = createPoolBackend([openaiModel(0, fake.baseURL), openaiModel(1, fake.baseURL)], { poolName: "remote", domains, openai: { limiters: new EndpointLimiters() } });
    const request: GenerationRequest = { model: 1, coefficients: null, prompt: "route me", settings, item, previousResponses: [] };

    const result = await backend.generate(request);

    expect(result.text).toBe(fakeAnswer("route me"));
    expect(fake.requests[0].body?.model).toBe("served-1");
    expect(backend.modelIdentity(0)).toBe(`openai:${fake.baseURL}:served-0`);
  });

  it("rejects a pool that mixes simulated and openai models", () => {
    const error = configurationError([simulatedModel(0), openaiModel(1, "http://127.0.0.1:9/v1")]);

    expect(error.unsupported).toBe(false);
    expect(error.message).toContain('mixes simulated models with openai model "remote-1"');
  });

  it("rejects a weight-capable openai model", () => {
    const error = configurationError([openaiModel(0, "http://127.0.0.1:9/v1", { weightCapable: true })]);

    expect(error.message).toBe('pool "pool", model 0 ("remote-0"): an openai model\'s weights cannot change, so weightCapable must be false');
  });

  it("rejects an openai model without endpoint", () => {
    const error = configurationError([openaiModel(0, "", { endpoint: null })]);

    expect(error.message).toContain("the openai backend needs the server's base URL in endpoint");
  });

  it("rejects invalid openai settings naming the field", () => {
    const error = configurationError([openaiModel(0, "http://127.0.0.1:9/v1", { generationSettings: { concurrency: 0 } })]);

    expect(error.message).toContain('pool "pool", model 0 ("remote-0"): generationSettings.concurrency');
  });

  it("rejects a vllm_lora model without an adapter", () => {
    const error = configurationError([openaiModel(0, "http://127.0.0.1:9/v1", { backend: "vllm_lora", baseModel: "base", adapterPath: null })]);

    expect(error.unsupported).toBe(false);
    expect(error.message).toContain("a vllm_lora model needs adapterPath");
  });

  it("rejects indices that are not 0..n-1", () => {
    const error = configurationError([openaiModel(1, "http://127.0.0.1:9/v1")]);

    expect(error.message).toContain("model indices must be 0..0");
  });
});
