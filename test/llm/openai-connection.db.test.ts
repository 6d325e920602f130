import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiHarness, type ApiHarness } from "../api/context";
import { stopTestServer } from "../setup/database";
import { closedEndpoint, fakeAnswer, FakeOpenAIServer } from "./fake-openai-server";

// models.testConnection on openai models, against the fake OpenAI-compatible server.

const SECRET = "sk-connection-secret";

let api: ApiHarness;
let fake: FakeOpenAIServer;
let poolCount = 0;

beforeAll(async () => {
  api = await createApiHarness();
  fake = await FakeOpenAIServer.start({ apiKey: SECRET, models: ["served-model"] });
});

afterAll(async () => {
  await fake?.close();
  await api?.close();
  await stopTestServer();
});

async function modelAt(endpoint: string, overrides: { modelName?: string; apiKey?: string; backend?: "openai" | "vllm_lora" } = {}) {
  const backend = overrides.backend ?? "openai";
  const pool = await api.caller.pools.create({
    name: `probe ${++poolCount}`,
    models: [
      {
        name: "probe",
        backend,
        endpoint,
        modelName: overrides.modelName ?? "served-model",
        apiKey: overrides.apiKey ?? SECRET,
        ...(backend === "vllm_lora" ? { baseModel: "base", adapterPath: "/adapters/probe" } : {}),
      },
    ],
  });
  return pool.models[0].id;
}

describe("testConnection of an openai model", () => {
  it("returns the reply to a 1-token completion", async () => {
    const id = await modelAt(fake.baseURL);
    const before = fake.completionRequests().length;

    const result = await api.caller.models.testConnection({ id });
    const sent = fake.completionRequests().slice(before);

    expect(result.ok).toBe(true);
    expect(result.ok ? result.reply : null).toBe(fakeAnswer("Reply with the word OK.").slice(0, 4));
    expect(result.message).toContain(fake.baseURL);
    expect(sent).toHaveLength(1);
    expect(sent[0].body?.max_tokens).toBe(1);
  });

  it("returns the server's error for an unknown model", async () => {
    const id = await modelAt(fake.baseURL, { modelName: "missing-model" });

    const result = await api.caller.models.testConnection({ id });

    expect(result.ok).toBe(false);
    expect(result.message).toContain("HTTP 404 (model_not_found)");
    expect(result.message).toContain(fake.baseURL);
  });

  it("returns a rejected key without the key", async () => {
    const id = await modelAt(fake.baseURL, { apiKey: "sk-not-the-right-one" });

    const result = await api.caller.models.testConnection({ id });

    expect(result.ok).toBe(false);
    expect(result.message).toContain("HTTP 401");
    expect(JSON.stringify(result)).not.toContain("sk-not-the-right-one");
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it("returns a refused connection after one attempt", async () => {
    const endpoint = await closedEndpoint();
    const id = await modelAt(endpoint);

    const result = await api.caller.models.testConnection({ id });

    expect(result.ok).toBe(false);
    expect(result.message).toContain(endpoint);
    expect(result.message).toContain("failed 1 attempt(s)");
    expect(result.message).toContain("ECONNREFUSED");
  });

  it("names a missing LoRA adapter folder", async () => {
    const id = await modelAt(fake.baseURL, { backend: "vllm_lora" });

    const result = await api.caller.models.testConnection({ id });

    expect(result.ok).toBe(false);
    expect(result.message).toContain("/adapters/probe");
  });
});
