import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdapterError, checkExpertBasis, MergedAdapterCache, mergedAdapterName, readPeftAdapter, type PeftAdapter } from "../../server/llm/adapters";

// Fixtures are tiny PEFT adapters written by this test with its own minimal safetensors writer,
// and merged results are read back with its own minimal reader and decoders, so that the
// expected values never go through the code under test.

type Dtype = "F32" | "F16" | "BF16";

interface FixtureTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Raw element bits: float32 bits for F32, 16-bit patterns for F16 and BF16. */
  bits: number[];
}

const Q_A = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
const Q_B = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";
const V_A = "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight";

const BASE_CONFIG = {
  peft_type: "LORA",
  task_type: "CAUSAL_LM",
  base_model_name_or_path: "tiny/base-model",
  r: 4,
  lora_alpha: 8,
  lora_dropout: 0.05,
  target_modules: ["q_proj", "v_proj"],
  bias: "none",
};

function writeSafetensorsByHand(tensors: FixtureTensor[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    const size = tensor.dtype === "F32" ? 4 : 2;
    const data = Buffer.alloc(size * tensor.bits.length);
    tensor.bits.forEach((bits, i) => (size === 4 ? data.writeUInt32LE(bits >>> 0, 4 * i) : data.writeUInt16LE(bits, 2 * i)));
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + data.length] };
    offset += data.length;
    chunks.push(data);
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, ...chunks]);
}

function readSafetensorsByHand(bytes: Buffer): { metadata: Record<string, string> | undefined; tensors: Map<string, { dtype: Dtype; shape: number[]; bits: number[] }> } {
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString("utf8"));
  const start = 8 + length;
  const tensors = new Map<string, { dtype: Dtype; shape: number[]; bits: number[] }>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: Dtype; shape: number[]; data_offsets: [number, number] };
    const size = dtype === "F32" ? 4 : 2;
    const bits: number[] = [];
    for (let position = start + begin; position < start + end; position += size) bits.push(size === 4 ? bytes.readUInt32LE(position) : bytes.readUInt16LE(position));
    tensors.set(name, { dtype, shape, bits });
  }
  return { metadata: header.__metadata__, tensors };
}

function decodeF16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  if (exponent === 0) return sign * (fraction / 1024) * 2 ** -14;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function decodeBitsAs(dtype: Dtype, bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  if (dtype === "F16") return decodeF16(bits);
  view.setUint32(0, dtype === "BF16" ? bits << 16 : bits);
  return view.getFloat32(0);
}

/** Returns the 16-bit pattern nearest to `value` (ties to an even pattern) by searching all finite patterns. */
function nearest16(dtype: "F16" | "BF16", value: number): number {
  const infinity = dtype === "F16" ? 0x7c00 : 0x7f80;
  let best = 0;
  let bestDistance = Infinity;
  for (let bits = 0; bits < infinity; bits++) {
    const distance = Math.abs(decodeBitsAs(dtype, bits) - Math.abs(value));
    if (distance < bestDistance || (distance === bestDistance && (bits & 1) === 0)) {
      best = bits;
      bestDistance = distance;
    }
  }
  return (value < 0 ? 0x8000 : 0) | best;
}

/** Deterministic element bits: moderate normal values, plus a few subnormals for F16. */
function fixtureBits(dtype: Dtype, count: number, seed: number): number[] {
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  const view = new DataView(new ArrayBuffer(4));
  return Array.from({ length: count }, (_, i) => {
    const random = next();
    if (dtype === "F32") {
      view.setFloat32(0, ((random / 2 ** 32) * 4 - 2) * (i % 5 === 0 ? 1e-3 : 1));
      return view.getUint32(0);
    }
    const sign = random & 0x8000;
    if (dtype === "F16") {
      const exponent = i % 7 === 0 ? 0 : 8 + (random % 14);
      return sign | (exponent << 10) | ((random >>> 8) & 0x3ff);
    }
    const exponent = 110 + (random % 20);
    return sign | (exponent << 7) | ((random >>> 8) & 0x7f);
  });
}

function expertTensors(dtype: Dtype, seed: number): FixtureTensor[] {
  return [
    { name: Q_A, dtype, shape: [4, 8], bits: fixtureBits(dtype, 32, seed) },
    { name: Q_B, dtype, shape: [8, 4], bits: fixtureBits(dtype, 32, seed + 1) },
    { name: V_A, dtype, shape: [4, 8], bits: fixtureBits(dtype, 32, seed + 2) },
  ];
}

async function writeAdapter(dir: string, tensors: FixtureTensor[], config: Record<string, unknown> = BASE_CONFIG): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "adapter_config.json"), JSON.stringify(config, null, 2));
  await writeFile(join(dir, "adapter_model.safetensors"), writeSafetensorsByHand(tensors, { format: "pt" }));
  return dir;
}

/** Σ_k c_k e_k per element in float64, from the fixtures' own bits. */
function expectedSums(experts: FixtureTensor[][], coefficients: number[], name: string): number[] {
  const tensors = experts.map((tensors) => tensors.find((t) => t.name === name) as FixtureTensor);
  return tensors[0].bits.map((_, i) => tensors.reduce((sum, tensor, k) => sum + coefficients[k] * decodeBitsAs(tensor.dtype, tensor.bits[i]), 0));
}

async function readMerged(path: string) {
  return readSafetensorsByHand(await readFile(join(path, "adapter_model.safetensors")));
}

describe("adapter merge", () => {
  let root: string;
  let counter = 0;
  const freshDir = () => join(root, `case-${++counter}`);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "hswarm-adapters-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function experts(dtypes: Dtype[]): Promise<{ fixtures: FixtureTensor[][]; adapters: PeftAdapter[] }> {
    const base = freshDir();
    const fixtures = dtypes.map((dtype, k) => expertTensors(dtype, 100 * (k + 1)));
    const adapters = await Promise.all(fixtures.map(async (tensors, k) => readPeftAdapter(await writeAdapter(join(base, `expert-${k}`), tensors), `expert-${k}`)));
    return { fixtures, adapters };
  }

  it("sums hand-computed values element-wise", async () => {
    const base = freshDir();
    const f32 = (values: number[]) => values.map((v) => new DataView(new Float32Array([v]).buffer).getUint32(0, true));
    const one = await writeAdapter(join(base, "one"), [{ name: "w", dtype: "F32", shape: [2, 2], bits: f32([1, 2, 3, 4]) }]);
    const two = await writeAdapter(join(base, "two"), [{ name: "w", dtype: "F32", shape: [2, 2], bits: f32([10, 20, 30, 40]) }]);
    const cache = new MergedAdapterCache({ dir: join(base, "cache") });

    const merged = await cache.materialise([await readPeftAdapter(one), await readPeftAdapter(two)], [0.5, 0.25]);
    const tensor = (await readMerged(merged.path)).tensors.get("w");

    expect(tensor?.shape).toEqual([2, 2]);
    expect(tensor?.bits.map((bits) => decodeBitsAs("F32", bits))).toEqual([3, 6, 9, 12]);
  });

  it.each([["F32"], ["F16"], ["BF16"]] as [Dtype][])("merges %s experts to the correctly rounded sum", async (dtype) => {
    const { fixtures, adapters } = await experts([dtype, dtype, dtype]);
    const coefficients = [0.5, -1.25, 2.0078125];
    const cache = new MergedAdapterCache({ dir: join(freshDir(), "cache") });

    const merged = await cache.materialise(adapters, coefficients);
    const { tensors } = await readMerged(merged.path);

    expect([...tensors.keys()].sort()).toEqual([Q_A, Q_B, V_A].sort());
    for (const name of [Q_A, Q_B, V_A]) {
      const tensor = tensors.get(name) as { dtype: Dtype; shape: number[]; bits: number[] };
      const sums = expectedSums(fixtures, coefficients, name);
      const expectedBits = sums.map((sum) => (dtype === "F32" ? new DataView(new Float32Array([sum]).buffer).getUint32(0, true) : nearest16(dtype, sum)));
      expect(tensor.dtype).toBe(dtype);
      expect(tensor.shape).toEqual(fixtures[0].find((t) => t.name === name)?.shape);
      expect(tensor.bits).toEqual(expectedBits);
    }
  });

  it("merges experts of different dtypes into F32", async () => {
    const { fixtures, adapters } = await experts(["F32", "F16", "BF16"]);
    const coefficients = [0.25, 0.5, 0.25];
    const merged = await new MergedAdapterCache({ dir: join(freshDir(), "cache") }).materialise(adapters, coefficients);
    const tensor = (await readMerged(merged.path)).tensors.get(Q_B) as { dtype: Dtype; bits: number[] };

    expect(tensor.dtype).toBe("F32");
    expect(tensor.bits.map((bits) => decodeBitsAs("F32", bits))).toEqual(expectedSums(fixtures, coefficients, Q_B).map((sum) => Math.fround(sum)));
  });

  it("writes the experts' adapter_config.json and format metadata", async () => {
    const { adapters } = await experts(["F16", "F16"]);
    const merged = await new MergedAdapterCache({ dir: join(freshDir(), "cache") }).materialise(adapters, [1, 1]);

    expect(JSON.parse(await readFile(join(merged.path, "adapter_config.json"), "utf8"))).toEqual(BASE_CONFIG);
    expect((await readMerged(merged.path)).metadata?.format).toBe("pt");
  });

  it("names merged adapters by content", async () => {
    const { adapters } = await experts(["F32", "F32"]);
    const name = mergedAdapterName(adapters, [0.3, 0.7]);

    expect(name).toMatch(/^hswarm-[0-9a-f]{32}$/);
    expect(mergedAdapterName(adapters, [0.3, 0.7])).toBe(name);
    expect(mergedAdapterName(adapters, [0.3, 0.7000000000000001])).not.toBe(name);
    expect(mergedAdapterName([...adapters].reverse(), [0.3, 0.7])).not.toBe(name);
  });

  it("changes the name when an expert's weights change", async () => {
    const base = freshDir();
    const path = await writeAdapter(join(base, "e"), expertTensors("F32", 1));
    const before = await readPeftAdapter(path);
    await writeAdapter(path, expertTensors("F32", 2));
    const after = await readPeftAdapter(path);

    expect(mergedAdapterName([after], [1])).not.toBe(mergedAdapterName([before], [1]));
  });
});

describe("expert basis checks", () => {
  let root: string;
  let counter = 0;
  const freshDir = () => join(root, `case-${++counter}`);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "hswarm-basis-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function pair(second: FixtureTensor[], secondConfig: Record<string, unknown> = BASE_CONFIG): Promise<PeftAdapter[]> {
    const base = freshDir();
    const first = await readPeftAdapter(await writeAdapter(join(base, "first"), expertTensors("F32", 1)), "first");
    const other = await readPeftAdapter(await writeAdapter(join(base, "second"), second, secondConfig), "second");
    return [first, other];
  }

  it("accepts target_modules in another order", async () => {
    const adapters = await pair(expertTensors("F16", 5), { ...BASE_CONFIG, target_modules: ["v_proj", "q_proj"] });
    expect(() => checkExpertBasis(adapters)).not.toThrow();
  });

  it("rejects a tensor of another shape, naming adapter and tensor", async () => {
    const tensors = expertTensors("F32", 5).map((t) => (t.name === Q_B ? { ...t, shape: [4, 8] } : t));
    const adapters = await pair(tensors);
    expect(() => checkExpertBasis(adapters)).toThrow(AdapterError);
    expect(() => checkExpertBasis(adapters)).toThrow(`adapter "second" (${adapters[1].path}): tensor "${Q_B}" has shape [4,8], but adapter "first" has [8,4]`);
  });

  it("rejects a missing tensor", async () => {
    const adapters = await pair(expertTensors("F32", 5).filter((t) => t.name !== V_A));
    expect(() => checkExpertBasis(adapters)).toThrow(`adapter "second" (${adapters[1].path}) has no tensor "${V_A}", which adapter "first" has`);
  });

  it("rejects an extra tensor", async () => {
    const extra = { name: "base_model.model.lm_head.lora_A.weight", dtype: "F32" as const, shape: [4, 8], bits: fixtureBits("F32", 32, 9) };
    const adapters = await pair([...expertTensors("F32", 5), extra]);
    expect(() => checkExpertBasis(adapters)).toThrow(`has tensor "${extra.name}", which adapter "first" lacks`);
  });

  it.each([
    ["r", { r: 8 }],
    ["lora_alpha", { lora_alpha: 16 }],
    ["target_modules", { target_modules: ["q_proj", "k_proj"] }],
    ["base_model_name_or_path", { base_model_name_or_path: "other/base" }],
  ])("rejects a different %s", async (key, change) => {
    const adapters = await pair(expertTensors("F32", 5), { ...BASE_CONFIG, ...change });
    expect(() => checkExpertBasis(adapters)).toThrow(`adapter "second" (${adapters[1].path}) has adapter_config.json "${key}"`);
  });

  it("rejects a coefficient count that differs from the experts", async () => {
    const adapters = await pair(expertTensors("F32", 5));
    const cache = new MergedAdapterCache({ dir: join(freshDir(), "cache") });
    await expect(cache.materialise(adapters, [1])).rejects.toThrow("2 experts, but got 1 coefficients");
  });

  it("rejects a coefficient that is not finite", async () => {
    const adapters = await pair(expertTensors("F32", 5));
    const cache = new MergedAdapterCache({ dir: join(freshDir(), "cache") });
    await expect(cache.materialise(adapters, [1, NaN])).rejects.toThrow('coefficient 1 (adapter "second") must be a finite number, but got NaN');
  });

  it("rejects a tensor that is not a float", async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "adapter_config.json"), JSON.stringify(BASE_CONFIG));
    const header = JSON.stringify({ steps: { dtype: "I32", shape: [1], data_offsets: [0, 4] } });
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    await writeFile(join(dir, "adapter_model.safetensors"), Buffer.concat([length, Buffer.from(header), Buffer.alloc(4)]));

    await expect(readPeftAdapter(dir, "ints")).rejects.toThrow('tensor "steps" has dtype I32; only F32, F16 and BF16 adapters can be merged');
  });

  it("names the folder when adapter_model.safetensors is missing", async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "adapter_config.json"), JSON.stringify(BASE_CONFIG));
    await writeFile(join(dir, "adapter_model.bin"), "");

    await expect(readPeftAdapter(dir, "pickled")).rejects.toThrow(`adapter "pickled" (${dir}): adapter_model.safetensors is missing; it has adapter_model.bin`);
  });

  it("rejects a config without a rank", async () => {
    const dir = await writeAdapter(freshDir(), expertTensors("F32", 1), { ...BASE_CONFIG, r: undefined });
    await expect(readPeftAdapter(dir, "norank")).rejects.toThrow('"r" must be a positive integer');
  });
});

describe("merged adapter cache", () => {
  let root: string;
  let counter = 0;
  const freshDir = () => join(root, `case-${++counter}`);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "hswarm-cache-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function basis(): Promise<PeftAdapter[]> {
    const base = freshDir();
    return Promise.all([0, 1].map(async (k) => readPeftAdapter(await writeAdapter(join(base, `e${k}`), expertTensors("BF16", 10 + k)))));
  }

  const mergedFolders = async (dir: string) => (await readdir(dir)).filter((name) => name.startsWith("hswarm-")).sort();

  it("reuses a cached merge and records its use", async () => {
    const adapters = await basis();
    let now = 1_000_000;
    const cache = new MergedAdapterCache({ dir: join(freshDir(), "cache"), now: () => now });

    const first = await cache.materialise(adapters, [0.2, 0.8]);
    now = 2_000_000;
    const second = await cache.materialise(adapters, [0.2, 0.8]);

    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.path).toBe(first.path);
    expect((await stat(second.path)).mtimeMs).toBe(2_000_000);
  });

  it("survives two processes merging at once", async () => {
    const adapters = await basis();
    const dir = join(freshDir(), "cache");
    const caches = [new MergedAdapterCache({ dir }), new MergedAdapterCache({ dir })];

    const results = await Promise.all(caches.map((cache) => cache.materialise(adapters, [0.5, 0.5])));

    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await readdir(dir)).toEqual([results[0].name]);
    expect((await readdir(results[0].path)).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);
  });

  it("removes least recently used merges", async () => {
    const adapters = await basis();
    const dir = join(freshDir(), "cache");
    let now = 1_000_000;
    const cache = new MergedAdapterCache({ dir, maxEntries: 2, now: () => now });

    const a = await cache.materialise(adapters, [1, 0]);
    now += 1000;
    const b = await cache.materialise(adapters, [0, 1]);
    now += 1000;
    await cache.materialise(adapters, [1, 0]);
    now += 1000;
    const c = await cache.materialise(adapters, [0.5, 0.5]);

    expect(await mergedFolders(dir)).toEqual([a.name, c.name].sort());
    expect(await mergedFolders(dir)).not.toContain(b.name);
  });

  it("keeps merges in use beyond maxEntries", async () => {
    const adapters = await basis();
    const dir = join(freshDir(), "cache");
    let now = 1_000_000;
    const inUse = new Set<string>();
    const cache = new MergedAdapterCache({ dir, maxEntries: 1, now: () => now, isInUse: (name) => inUse.has(name) });

    const a = await cache.materialise(adapters, [1, 0]);
    inUse.add(a.name);
    now += 1000;
    const b = await cache.materialise(adapters, [0, 1]);

    expect(await mergedFolders(dir)).toEqual([a.name, b.name].sort());
  });

  it("removes merges unused for longer than maxAgeMs", async () => {
    const adapters = await basis();
    const dir = join(freshDir(), "cache");
    let now = 1_000_000;
    const cache = new MergedAdapterCache({ dir, maxAgeMs: 60_000, now: () => now });

    const old = await cache.materialise(adapters, [1, 0]);
    now += 120_000;
    const fresh = await cache.materialise(adapters, [0, 1]);

    expect(await mergedFolders(dir)).toEqual([fresh.name]);
    expect(await mergedFolders(dir)).not.toContain(old.name);
  });

  it("removes temporary folders left by a crashed merge", async () => {
    const adapters = await basis();
    const dir = join(freshDir(), "cache");
    const leftover = join(dir, ".tmp-hswarm-crashed");
    await mkdir(leftover, { recursive: true });
    const longAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(leftover, longAgo, longAgo);

    await new MergedAdapterCache({ dir }).materialise(adapters, [1, 1]);

    expect((await readdir(dir)).filter((name) => name.startsWith(".tmp-"))).toEqual([]);
  });
});
