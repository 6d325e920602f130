import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, afterAll, beforeEach, describe, expect, it } from "vitest";
import type { GenerationRequest } from "../../server/core/types";
import { BackendError } from "../../server/llm/errors";
import { checkPoolModels, createPoolBackend, PoolConfigurationError, type PoolModelSpec } from "../../server/llm/factory";
import { EndpointLimiters } from "../../server/llm/limiter";
import type { LoraModelSpec } from "../../server/llm/lora-common";
import { VllmLoraBackend, vllmLoraModelConfigs, type AdapterEvent } from "../../server/llm/vllm-lora";
import { FakeVllmServer } from "./fake-vllm-server";

// The vllm_lora backend against a fake vLLM server on 127.0.0.1. Expert adapters are tiny F32
// PEFT folders written by the test. The merged adapter files that the server received are
// decoded with the test's own reader and compared with sums computed here.

const BASE = "tiny/base-model";
const Q_A = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
const Q_B = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";
const CONFIG = { peft_type: "LORA", task_type: "CAUSAL_LM", base_model_name_or_path: BASE, r: 4, lora_alpha: 8, target_modules: ["q_proj"], bias: "none" };

/** Values of expert k: distinct, exactly representable in float32. */
function expertValues(k: number, count: number, offset: number): number[] {
  return Array.from({ length: count }, (_, i) => ((i * 7 + offset + 13 * k) % 23) / 8 - 1.375);
}

function f32Tensor(name: string, shape: number[], values: number[]): { name: string; shape: number[]; data: Buffer } {
  const data = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => data.writeFloatLE(v, 4 * i));
  return { name, shape, data };
}

function safetensorsByHand(tensors: { name: string; shape: number[]; data: Buffer }[]): Buffer {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const tensor of tensors) {
    header[tensor.name] = { dtype: "F32", shape: tensor.shape, data_offsets: [offset, offset + tensor.data.length] };
    offset += tensor.data.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, ...tensors.map((t) => t.data)]);
}

/** Reads F32 tensors of a safetensors buffer, independently of the code under test. */
function readF32ByHand(bytes: Buffer): Map<string, { shape: number[]; values: number[] }> {
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString("utf8"));
  const tensors = new Map<string, { shape: number[]; values: number[] }>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    expect(dtype).toBe("F32");
    const values: number[] = [];
    for (let p = 8 + length + begin; p < 8 + length + end; p += 4) values.push(bytes.readFloatLE(p));
    tensors.set(name, { shape, values });
  }
  return tensors;
}

async function writeExpert(dir: string, k: number, shapes: { a: number[]; b: number[] } = { a: [4, 8], b: [8, 4] }): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "adapter_config.json"), JSON.stringify(CONFIG));
  await writeFile(join(dir, "adapter_model.safetensors"), safetensorsByHand([f32Tensor(Q_A, shapes.a, expertValues(k, 32, 0)), f32Tensor(Q_B, shapes.b, expertValues(k, 32, 5))]));
  return dir;
}

function request(model: number, coefficients: number[] | null, prompt = "What is 2 + 2?"): GenerationRequest {
  return { model, coefficients, prompt, settings: { temperature: 0, maxTokens: 16, topP: 1 }, item: { question: "q", answer: "4" }, previousResponses: [] };
}

describe("vllm_lora backend", () => {
  let root: string;
  let experts: string[];
  let server: FakeVllmServer;
  let endpoint: string;
  let cacheDir: string;
  let events: AdapterEvent[];
  let counter = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "hswarm-vllm-lora-"));
    experts = await Promise.all([0, 1, 2].map((k) => writeExpert(join(root, `expert-${k}`), k)));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  beforeEach(async () => {
    server = new FakeVllmServer();
    endpoint = await server.start();
    cacheDir = join(root, `cache-${++counter}`);
    events = [];
  });
  afterEach(async () => {
    await server.close();
  });

  function models(settings: Record<string, unknown> = {}, overrides: Partial<LoraModelSpec>[] = []): LoraModelSpec[] {
    return experts.map((adapterPath, index) => ({
      index,
      name: `expert-${index}`,
      backend: "vllm_lora",
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

  function backend(specs: LoraModelSpec[], onAdapterEvent?: (event: AdapterEvent) => void): VllmLoraBackend {
    return new VllmLoraBackend(specs, {
      adapterCacheDir: cacheDir,
      openai: { limiters: new EndpointLimiters(), sleep: async () => undefined, random: () => 0 },
      onAdapterEvent: onAdapterEvent ?? ((event) => events.push(event)),
    });
  }

  /** Returns the load and unload requests only, as [route, lora_name]. */
  const adapterCalls = () =>
    server
      .calls()
      .filter((call) => call.path.includes("lora_adapter"))
      .map((call) => [call.path.replace(/^.*\//, ""), (call.body as { lora_name: string }).lora_name]);

  it("chats with the merged adapter's name", async () => {
    const result = await backend(models()).generate(request(0, [0.25, 0.5, 0.25]));
    const name = server.loadHistory[0].name;

    expect(name).toMatch(/^hswarm-[0-9a-f]{32}$/);
    expect(server.calls()).toEqual([
      { method: "GET", path: "/v1/models", body: null },
      { method: "POST", path: "/v1/load_lora_adapter", body: { lora_name: name, lora_path: join(cacheDir, name) } },
      {
        method: "POST",
        path: "/v1/chat/completions",
        body: { model: name, messages: [{ role: "user", content: "What is 2 + 2?" }], temperature: 0, top_p: 1, max_tokens: 16, stream: false },
      },
    ]);
    expect(server.requests[1].headers["content-type"]).toBe("application/json");
    expect(result).toEqual({ text: `answer by ${name}`, promptTokens: 7, completionTokens: 3 });
  });

  it("writes merged values for the server", async () => {
    const coefficients = [0.25, -0.5, 1.75];
    await backend(models()).generate(request(1, coefficients));
    const { files } = server.loadHistory[0];

    expect((await readdir(files.path)).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);
    expect(files.config).toEqual(CONFIG);
    const tensors = readF32ByHand(files.safetensors);
    for (const [name, offset, shape] of [
      [Q_A, 0, [4, 8]],
      [Q_B, 5, [8, 4]],
    ] as [string, number, number[]][]) {
      const expected = expertValues(0, 32, offset).map((_, i) => Math.fround(coefficients.reduce((sum, c, k) => sum + c * expertValues(k, 32, offset)[i], 0)));
      expect(tensors.get(name)?.shape).toEqual(shape);
      expect(tensors.get(name)?.values).toEqual(expected);
    }
  });

  it("reuses a loaded adapter", async () => {
    const lora = backend(models());
    await lora.generate(request(0, [0.5, 0.5, 0]));
    await lora.generate(request(1, [0.5, 0.5, 0], "another prompt"));

    expect(adapterCalls()).toEqual([["load_lora_adapter", server.loadHistory[0].name]]);
    expect(server.calls().filter((call) => call.path === "/v1/chat/completions")).toHaveLength(2);
  });

  it("unloads least recently used adapters", async () => {
    const lora = backend(models({ maxLoadedAdapters: 2 }));
    await lora.generate(request(0, [1, 0, 0]));
    await lora.generate(request(0, [0, 1, 0]));
    await lora.generate(request(0, [1, 0, 0], "used again"));
    await lora.generate(request(0, [0, 0, 1]));
    const [first, second, third] = server.loadHistory.map((load) => load.name);

    expect(adapterCalls()).toEqual([
      ["load_lora_adapter", first],
      ["load_lora_adapter", second],
      ["unload_lora_adapter", second],
      ["load_lora_adapter", third],
    ]);
    expect([...server.loaded.keys()].sort()).toEqual([first, third].sort());
    expect(server.maxLoadedSeen).toBe(2);
  });

  it("never exceeds maxLoadedAdapters under concurrent requests", async () => {
    const lora = backend(models({ maxLoadedAdapters: 2 }));
    const vectors = [0, 1, 2, 3, 4, 5].map((k) => [k / 5, 1 - k / 5, 0]);
    const results = await Promise.all([...vectors, ...vectors].map((c, i) => lora.generate(request(i % 3, c, `prompt ${i}`))));

    expect(results).toHaveLength(12);
    expect(server.maxLoadedSeen).toBe(2);
    expect(server.loaded.size).toBeLessThanOrEqual(2);
    expect(server.unknownModelRequests).toBe(0);
  });

  it("keeps adapters with requests in flight", async () => {
    const specs = models({ maxLoadedAdapters: 1 });
    let unloadedWhileHeld = false;
    let heldReleased = false;
    let signal = () => undefined as void;
    const blockedOrUnloaded = new Promise<void>((resolve) => (signal = resolve));
    const lora = backend(specs, (event) => {
      events.push(event);
      if (event.type === "wait") signal();
    });
    server.onUnload = () => {
      if (!heldReleased) unloadedWhileHeld = true;
      signal();
    };

    const held = server.holdNextCompletion();
    const first = lora.generate(request(0, [1, 0, 0]));
    await held.received;
    const second = lora.generate(request(1, [0, 1, 0]));
    await blockedOrUnloaded;
    heldReleased = true;
    held.release();
    await Promise.all([first, second]);
    const [a, b] = server.loadHistory.map((load) => load.name);

    expect(unloadedWhileHeld).toBe(false);
    expect(events.map((event) => event.type)).toEqual(["load", "wait", "unload", "load"]);
    expect(adapterCalls()).toEqual([
      ["load_lora_adapter", a],
      ["unload_lora_adapter", a],
      ["load_lora_adapter", b],
    ]);
    expect(server.maxLoadedSeen).toBe(1);
  });

  it("loads own adapter for null coefficients", async () => {
    const specs = models({}, [{ weightCapable: false }]);
    await backend(specs).generate(request(0, null));
    const tensors = readF32ByHand(server.loadHistory[0].files.safetensors);

    expect(tensors.get(Q_A)?.values).toEqual(expertValues(0, 32, 0));
    expect(tensors.get(Q_B)?.values).toEqual(expertValues(0, 32, 5));
  });

  it("reloads adapters after a server restart", async () => {
    const lora = backend(models());
    await lora.generate(request(0, [0.5, 0, 0.5]));
    server.restart();
    const before = server.requests.length;
    await lora.generate(request(0, [0.5, 0, 0.5], "after restart"));
    const name = server.loadHistory[0].name;

    expect(server.calls().slice(before).map((call) => [call.path, (call.body as { model?: string; lora_name?: string }).model ?? (call.body as { lora_name: string }).lora_name])).toEqual([
      ["/v1/chat/completions", name],
      ["/v1/load_lora_adapter", name],
      ["/v1/chat/completions", name],
    ]);
  });

  it("unloads adapters left by earlier processes", async () => {
    const leftovers = [`hswarm-${"a".repeat(32)}`, `hswarm-${"b".repeat(32)}`];
    for (const name of leftovers) server.preload(name);
    await backend(models({ maxLoadedAdapters: 2 })).generate(request(0, [0, 0, 1]));
    const name = server.loadHistory[0].name;

    expect(adapterCalls()).toEqual([
      ["unload_lora_adapter", leftovers[0]],
      ["load_lora_adapter", name],
    ]);
    expect(server.maxLoadedSeen).toBe(2);
  });

  it("explains a server without runtime LoRA updating", async () => {
    server.runtimeLoraUpdating = false;
    const failure = backend(models()).generate(request(0, [1, 0, 0]));

    await expect(failure).rejects.toThrow(BackendError);
    await expect(failure).rejects.toThrow("start vLLM with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and --enable-lora");
    await expect(failure).rejects.toMatchObject({ retryable: false, model: "expert-0" });
  });

  it("explains an unreadable serverAdapterDir path", async () => {
    const failure = backend(models({ serverAdapterDir: "/srv/hswarm-adapters" })).generate(request(0, [1, 0, 0]));

    await expect(failure).rejects.toThrow("it must see the adapter cache folder at the same path, or set generationSettings.serverAdapterDir");
    const load = server.calls().find((call) => call.path === "/v1/load_lora_adapter")?.body as { lora_name: string; lora_path: string };
    expect(load.lora_path).toBe(`/srv/hswarm-adapters/${load.lora_name}`);
  });

  it("rejects coefficients outside the model's basis", async () => {
    const specs = models({}, [{}, {}, { baseModel: "other/base" }]);
    const failure = backend(specs).generate(request(0, [0.5, 0.25, 0.25]));

    await expect(failure).rejects.toThrow('got coefficient 0.25 for model 2 ("expert-2"), which is not in its expert basis');
    expect(server.requests).toEqual([]);
  });

  it("rejects experts whose tensors differ in shape", async () => {
    const odd = await writeExpert(join(root, `odd-${counter}`), 2, { a: [4, 8], b: [4, 8] });
    const specs = models({}, [{}, {}, { adapterPath: odd }]);
    const failure = backend(specs).generate(request(0, [1, 0, 0]));

    await expect(failure).rejects.toThrow(`adapter "expert-2" (${odd}): tensor "${Q_B}" has shape [4,8], but adapter "expert-0" has [8,4]`);
    expect(server.requests).toEqual([]);
  });

  it("shares identities within one basis", () => {
    const lora = backend(models());

    expect(lora.modelIdentity(0)).toContain(endpoint);
    expect(lora.modelIdentity(0)).toContain(BASE);
    expect(lora.modelIdentity(1)).toBe(lora.modelIdentity(0));
    expect(backend(models({}, [{ endpoint: "http://127.0.0.1:9/v1" }, { endpoint: "http://127.0.0.1:9/v1" }, { endpoint: "http://127.0.0.1:9/v1" }])).modelIdentity(0)).not.toBe(lora.modelIdentity(0));
  });

  it("rejects a basis shared with another backend kind", () => {
    const specs = models({}, [{}, { backend: "llamacpp_lora" }]);
    expect(() => vllmLoraModelConfigs(specs)).toThrow('model 1 ("expert-1") is a weight-capable llamacpp_lora model with base model "tiny/base-model"');
  });

  it("rejects a model without an adapter path", () => {
    expect(() => vllmLoraModelConfigs(models({}, [{ adapterPath: null }]))).toThrow('model 0 ("expert-0"): a vllm_lora model needs adapterPath');
  });

  it("serves vllm_lora pools built by the factory", async () => {
    const previous = process.env.HSWARM_ADAPTER_CACHE_DIR;
    process.env.HSWARM_ADAPTER_CACHE_DIR = cacheDir;
    try {
      const specs: PoolModelSpec[] = models().map((model) => ({ ...model, backend: "vllm_lora", simulated: null }));
      const pool = createPoolBackend(specs, { poolName: "lora pool", domains: [], openai: { limiters: new EndpointLimiters() } });
      const result = await pool.generate(request(2, [0, 0.5, 0.5]));
      const name = server.loadHistory[0].name;

      expect(result.text).toBe(`answer by ${name}`);
      expect(server.loadHistory[0].files.path).toBe(join(cacheDir, name));
      expect(pool.modelIdentity(2)).toMatch(/^vllm_lora:vllm:/);
    } finally {
      if (previous === undefined) delete process.env.HSWARM_ADAPTER_CACHE_DIR;
      else process.env.HSWARM_ADAPTER_CACHE_DIR = previous;
    }
  });

  it("reports invalid models as configuration errors", () => {
    const specs: PoolModelSpec[] = models({}, [{ baseModel: null }]).map((model) => ({ ...model, backend: "vllm_lora", simulated: null }));
    expect(() => checkPoolModels(specs, "lora pool")).toThrow(PoolConfigurationError);
    expect(() => checkPoolModels(specs, "lora pool")).toThrow('pool "lora pool", model 0 ("expert-0"): a vllm_lora model needs baseModel');
  });
});

describe("vllm_lora backend with SGLang", () => {
  let root: string;
  let server: FakeVllmServer;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "hswarm-sglang-lora-"));
    server = new FakeVllmServer("sglang");
  });
  afterAll(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it("uses SGLang routes and base:adapter names", async () => {
    const endpoint = await server.start();
    const paths = await Promise.all([0, 1].map((k) => writeExpert(join(root, `expert-${k}`), k)));
    const specs: LoraModelSpec[] = paths.map((adapterPath, index) => ({
      index,
      name: `expert-${index}`,
      backend: "vllm_lora",
      endpoint,
      modelName: BASE,
      apiKey: "secret-key",
      generationSettings: { server: "sglang", maxAttempts: 1 },
      baseModel: BASE,
      adapterPath,
      weightCapable: true,
    }));
    const cacheDir = join(root, "cache");
    const lora = new VllmLoraBackend(specs, { adapterCacheDir: cacheDir, openai: { limiters: new EndpointLimiters() } });

    const result = await lora.generate(request(1, [0.5, 0.5]));
    const name = server.loadHistory[0].name;

    expect(server.calls()).toEqual([
      { method: "POST", path: "/load_lora_adapter", body: { lora_name: name, lora_path: join(cacheDir, name) } },
      {
        method: "POST",
        path: "/v1/chat/completions",
        body: { model: `${BASE}:${name}`, messages: [{ role: "user", content: "What is 2 + 2?" }], temperature: 0, top_p: 1, max_tokens: 16, stream: false },
      },
    ]);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(["Bearer secret-key", "Bearer secret-key"]);
    expect(result.text).toBe(`answer by ${BASE}:${name}`);
    expect(JSON.parse(await readFile(join(cacheDir, name, "adapter_config.json"), "utf8"))).toEqual(CONFIG);

    // A second worker (or a restarted one) finds the adapter already loaded and uses it.
    const before = server.requests.length;
    const second = new VllmLoraBackend(specs, { adapterCacheDir: cacheDir, openai: { limiters: new EndpointLimiters() } });
    const again = await second.generate(request(0, [0.5, 0.5], "second worker"));

    expect(server.calls().slice(before).map((call) => call.path)).toEqual(["/load_lora_adapter", "/v1/chat/completions"]);
    expect(again.text).toBe(`answer by ${BASE}:${name}`);
  });
});
