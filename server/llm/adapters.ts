import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { Semaphore } from "./limiter";
import {
  decodeFloats,
  encodeFloats,
  isFloatDtype,
  readSafetensorsHeader,
  readTensorData,
  writeSafetensorsFile,
  type FloatDtype,
  type SafetensorsHeader,
  type TensorInfo,
} from "./safetensors";

// PEFT LoRA adapters as an expert basis. A model's weights are w = Σ_k c_k e_k over the experts'
// adapters, merged element-wise per tensor, lora_A and lora_B separately, as the Heterogeneous
// Swarms reference code (merge.py, lora_merge) merges adapter state dicts. Merged adapters are
// written once into a cache folder named by a content hash, and garbage-collected.

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";

/** Folder names of merged adapters: the prefix and 32 hex digits of a SHA-256. */
const MERGED_NAME_PATTERN = /^hswarm-[0-9a-f]{32}$/;
const TEMPORARY_PREFIX = ".tmp-";
/** Temporary folders older than this are left over from a crashed process and are removed by garbage collection. */
const STALE_TEMPORARY_MS = 60 * 60 * 1000;

/**
 * adapter_config.json keys that change what the tensors mean. Experts must agree on all of them,
 * because a merged adapter keeps one config: a different rank, scaling, target module set or
 * base model would make the element-wise sum meaningless.
 */
const SHARED_CONFIG_KEYS = [
  "peft_type",
  "base_model_name_or_path",
  "task_type",
  "r",
  "lora_alpha",
  "target_modules",
  "modules_to_save",
  "rank_pattern",
  "alpha_pattern",
  "layers_to_transform",
  "layers_pattern",
  "fan_in_fan_out",
  "bias",
  "use_rslora",
  "use_dora",
] as const;

/** An invalid adapter folder or an expert that does not fit the basis; the message names the adapter and the tensor or key. */
export class AdapterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AdapterError";
  }
}

/** A PEFT LoRA adapter folder whose config and tensor header have been read and checked, but not its tensor data. */
export interface PeftAdapter {
  /** Display name used in error messages, such as the pool model's name. */
  label: string;
  /** The adapter folder. */
  path: string;
  config: Record<string, unknown>;
  header: SafetensorsHeader;
  /** SHA-256 of adapter_config.json and adapter_model.safetensors, so that an edited adapter gets new merged names. */
  identity: string;
}

/**
 * Reads a PEFT adapter folder (adapter_config.json + adapter_model.safetensors). Checks the
 * config's LoRA fields and that every tensor is F32, F16 or BF16, and hashes both files.
 * Throws AdapterError naming the folder and what is missing or invalid.
 */
export async function readPeftAdapter(path: string, label = path): Promise<PeftAdapter> {
  const where = `adapter "${label}" (${path})`;
  const folder = await stat(path).catch(() => null);
  if (folder === null || !folder.isDirectory()) throw new AdapterError(`${where}: not found or not a folder; a PEFT adapter is a folder with ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE}`);

  const config = await readAdapterConfig(join(path, ADAPTER_CONFIG_FILE), where);
  const weightsPath = join(path, ADAPTER_WEIGHTS_FILE);
  if ((await stat(weightsPath).catch(() => null)) === null) {
    const hasBin = (await stat(join(path, "adapter_model.bin")).catch(() => null)) !== null;
    const hint = hasBin ? "; it has adapter_model.bin, which must be converted to safetensors first" : "";
    throw new AdapterError(`${where}: ${ADAPTER_WEIGHTS_FILE} is missing${hint}`);
  }

  let header: SafetensorsHeader;
  try {
    header = await readSafetensorsHeader(weightsPath);
  } catch (error) {
    throw new AdapterError(`${where}: ${(error as Error).message}`);
  }
  for (const tensor of header.tensors) {
    if (!isFloatDtype(tensor.dtype)) throw new AdapterError(`${where}: tensor "${tensor.name}" has dtype ${tensor.dtype}; only F32, F16 and BF16 adapters can be merged`);
  }
  if (header.tensors.length === 0) throw new AdapterError(`${where}: ${ADAPTER_WEIGHTS_FILE} contains no tensors`);

  const identity = await hashFiles([join(path, ADAPTER_CONFIG_FILE), weightsPath]);
  return { label, path, config, header, identity };
}

async function readAdapterConfig(path: string, where: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new AdapterError(`${where}: ${ADAPTER_CONFIG_FILE} is missing`);
  }

  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new AdapterError(`${where}: ${ADAPTER_CONFIG_FILE} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) throw new AdapterError(`${where}: ${ADAPTER_CONFIG_FILE} must be a JSON object`);

  const fields = config as Record<string, unknown>;
  if (fields.peft_type !== undefined && fields.peft_type !== "LORA") throw new AdapterError(`${where}: peft_type is ${JSON.stringify(fields.peft_type)}, but only LORA adapters can be merged`);
  if (!Number.isInteger(fields.r) || (fields.r as number) < 1) throw new AdapterError(`${where}: ${ADAPTER_CONFIG_FILE} "r" must be a positive integer, but got ${JSON.stringify(fields.r)}`);
  if (typeof fields.lora_alpha !== "number") throw new AdapterError(`${where}: ${ADAPTER_CONFIG_FILE} "lora_alpha" must be a number, but got ${JSON.stringify(fields.lora_alpha)}`);
  return fields;
}

async function hashFiles(paths: readonly string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const path of paths) {
    hash.update(`${basename(path)}\0`);
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    hash.update("\0");
  }
  return hash.digest("hex");
}

/**
 * Throws AdapterError unless all experts can form one basis: the same tensor names, each with
 * the same shape, and the same values for every config key that changes the tensors' meaning.
 * The message names both adapters and the tensor or key that differs.
 */
export function checkExpertBasis(experts: readonly PeftAdapter[]): void {
  if (experts.length === 0) throw new AdapterError("an expert basis needs at least one adapter");
  const [first, ...others] = experts;
  const firstTensors = new Map(first.header.tensors.map((t) => [t.name, t]));

  for (const other of others) {
    for (const key of SHARED_CONFIG_KEYS) {
      const a = canonicalConfigValue(first.config[key]);
      const b = canonicalConfigValue(other.config[key]);
      if (a !== b) {
        throw new AdapterError(
          `adapter "${other.label}" (${other.path}) has ${ADAPTER_CONFIG_FILE} "${key}" = ${b ?? "unset"}, but adapter "${first.label}" has ${a ?? "unset"}; experts of one base must share ${key}`,
        );
      }
    }

    const otherTensors = new Map(other.header.tensors.map((t) => [t.name, t]));
    for (const [name, tensor] of firstTensors) {
      const counterpart = otherTensors.get(name);
      if (counterpart === undefined) throw new AdapterError(`adapter "${other.label}" (${other.path}) has no tensor "${name}", which adapter "${first.label}" has`);
      if (!sameShape(tensor.shape, counterpart.shape)) {
        throw new AdapterError(
          `adapter "${other.label}" (${other.path}): tensor "${name}" has shape ${JSON.stringify(counterpart.shape)}, but adapter "${first.label}" has ${JSON.stringify(tensor.shape)}`,
        );
      }
    }
    for (const name of otherTensors.keys()) {
      if (!firstTensors.has(name)) throw new AdapterError(`adapter "${other.label}" (${other.path}) has tensor "${name}", which adapter "${first.label}" lacks`);
    }
  }
}

/** JSON of a config value with module lists sorted, since target_modules order has no meaning; undefined stays undefined. */
function canonicalConfigValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) && value.every((entry) => typeof entry === "string")) return JSON.stringify([...value].sort());
  return JSON.stringify(value);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

/**
 * Name of the merged adapter for these experts and coefficients: "hswarm-" and 32 hex digits of
 * a SHA-256 over the experts' content identities and the coefficients' exact float64 values.
 */
export function mergedAdapterName(experts: readonly Pick<PeftAdapter, "identity">[], coefficients: readonly number[]): string {
  // JSON.stringify writes the shortest decimal that parses back to the same double, so equal vectors give equal text.
  const material = JSON.stringify({ format: 1, experts: experts.map((e) => e.identity), coefficients });
  return `hswarm-${createHash("sha256").update(material).digest("hex").slice(0, 32)}`;
}

function checkCoefficients(experts: readonly PeftAdapter[], coefficients: readonly number[]): void {
  if (coefficients.length !== experts.length) {
    throw new AdapterError(`a merge needs one coefficient per expert: ${experts.length} experts, but got ${coefficients.length} coefficients`);
  }
  coefficients.forEach((c, k) => {
    if (!Number.isFinite(c)) throw new AdapterError(`coefficient ${k} (adapter "${experts[k].label}") must be a finite number, but got ${c}`);
  });
}

/**
 * Writes Σ_k c_k e_k into `outputDir` (which must exist) as adapter_config.json (the first
 * expert's) and adapter_model.safetensors. Reads one tensor of each expert at a time, so memory
 * stays at a few copies of the largest tensor. Each output tensor keeps the experts' dtype, or
 * F32 when they differ.
 *
 * Deliberate difference from the reference code: the reference multiplies and adds in the
 * tensors' own dtype (often BF16), rounding after every operation. Here the sum is accumulated
 * in float64 and rounded once, to nearest with ties to even, so the result is the correctly
 * rounded merge.
 */
export async function mergeAdapters(experts: readonly PeftAdapter[], coefficients: readonly number[], outputDir: string): Promise<void> {
  checkExpertBasis(experts);
  checkCoefficients(experts, coefficients);

  const handles = await Promise.all(experts.map((expert) => open(join(expert.path, ADAPTER_WEIGHTS_FILE), "r")));
  try {
    const tensorsByExpert = experts.map((expert) => new Map(expert.header.tensors.map((t) => [t.name, t])));
    const names = experts[0].header.tensors.map((t) => t.name).sort();

    const tensors = names.map((name) => {
      const infos = tensorsByExpert.map((tensors) => tensors.get(name) as TensorInfo);
      const dtype = outputDtype(infos);
      return {
        name,
        dtype,
        shape: infos[0].shape,
        data: async () => encodeFloats(dtype, await mergeTensor(experts, handles, infos, coefficients)),
      };
    });

    const metadata = {
      format: "pt",
      "hswarm.coefficients": JSON.stringify(coefficients),
      "hswarm.experts": JSON.stringify(experts.map((e) => e.identity)),
    };
    await writeSafetensorsFile(join(outputDir, ADAPTER_WEIGHTS_FILE), tensors, metadata);
    await writeFile(join(outputDir, ADAPTER_CONFIG_FILE), `${JSON.stringify(experts[0].config, null, 2)}\n`);
  } finally {
    await Promise.all(handles.map((handle) => handle.close()));
  }
}

function outputDtype(infos: readonly TensorInfo[]): FloatDtype {
  const dtype = infos[0].dtype as FloatDtype;
  return infos.every((info) => info.dtype === dtype) ? dtype : "F32";
}

async function mergeTensor(
  experts: readonly PeftAdapter[],
  handles: readonly Awaited<ReturnType<typeof open>>[],
  infos: readonly TensorInfo[],
  coefficients: readonly number[],
): Promise<Float64Array> {
  const sum = new Float64Array((infos[0].end - infos[0].begin) / (infos[0].dtype === "F32" ? 4 : 2));
  for (let k = 0; k < experts.length; k++) {
    // Zero coefficients are not skipped: 0 · Inf is NaN in the reference code too.
    const bytes = await readTensorData(handles[k], experts[k].header, infos[k], experts[k].path);
    const values = decodeFloats(infos[k].dtype as FloatDtype, bytes);
    const c = coefficients[k];
    for (let i = 0; i < values.length; i++) sum[i] += c * values[i];
  }
  return sum;
}

export interface MergedAdapter {
  /** Content-hash name, also the folder name and the name to load the adapter under. */
  name: string;
  /** Absolute folder path of the merged adapter. */
  path: string;
  /** Whether this call wrote the folder (false: it was already in the cache). */
  created: boolean;
}

export interface MergedAdapterCacheOptions {
  /** Folder that contains the merged adapters, created when missing. */
  dir: string;
  /** Most merged adapters kept; older ones are removed after each new merge. */
  maxEntries?: number;
  /** Merged adapters not used for this long are removed after each new merge; null keeps them until maxEntries. */
  maxAgeMs?: number | null;
  /** Names that garbage collection must keep, such as adapters loaded on a server. */
  isInUse?: (name: string) => boolean;
  /** Clock in ms since the epoch, for ages and last-use times. */
  now?: () => number;
  /** Maximum number of merges written at once. Each keeps one file per expert open and a core busy. */
  maxConcurrentMerges?: number;
}

export const DEFAULT_MAX_CACHED_ADAPTERS = 64;

/**
 * Content-addressed cache of merged adapters. A merge is written into a temporary folder in the
 * cache folder and renamed into place, so a folder with a merged name is always complete, also
 * when several processes share the cache. A folder's modification time records its last use.
 */
export class MergedAdapterCache {
  private readonly pending = new Map<string, Promise<MergedAdapter>>();
  private readonly maxEntries: number;
  private readonly maxAgeMs: number | null;
  private readonly now: () => number;
  private readonly merges: Semaphore;

  constructor(private readonly options: MergedAdapterCacheOptions) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_CACHED_ADAPTERS;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new Error(`maxEntries must be a positive integer, but got ${options.maxEntries}`);
    this.maxAgeMs = options.maxAgeMs ?? null;
    this.now = options.now ?? Date.now;
    this.merges = new Semaphore(options.maxConcurrentMerges ?? 2);
  }

  get dir(): string {
    return this.options.dir;
  }

  /** Returns the merged adapter Σ_k c_k e_k, merging it unless the cache has it already. */
  async materialise(experts: readonly PeftAdapter[], coefficients: readonly number[]): Promise<MergedAdapter> {
    checkCoefficients(experts, coefficients);
    const name = mergedAdapterName(experts, coefficients);

    const pending = this.pending.get(name);
    if (pending !== undefined) return pending;
    const work = this.findOrMerge(name, experts, coefficients).finally(() => this.pending.delete(name));
    this.pending.set(name, work);
    return work;
  }

  private async findOrMerge(name: string, experts: readonly PeftAdapter[], coefficients: readonly number[]): Promise<MergedAdapter> {
    const path = join(this.options.dir, name);
    if (await isCompleteAdapter(path)) {
      await this.touch(path);
      return { name, path, created: false };
    }

    await mkdir(this.options.dir, { recursive: true });
    const temporary = join(this.options.dir, `${TEMPORARY_PREFIX}${name}-${randomUUID()}`);
    await mkdir(temporary);
    try {
      await this.merges.run(() => mergeAdapters(experts, coefficients, temporary));
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { recursive: true, force: true });
      // Another process renamed the same merge into place first; its folder is just as good.
      if (isAlreadyExists(error) && (await isCompleteAdapter(path))) {
        await this.touch(path);
        return { name, path, created: false };
      }
      throw error;
    }

    await this.touch(path);
    await this.collectGarbage();
    return { name, path, created: true };
  }

  private async touch(path: string): Promise<void> {
    const time = new Date(this.now());
    await utimes(path, time, time);
  }

  /**
   * Removes merged adapters beyond maxEntries (least recently used first) and those unused for
   * longer than maxAgeMs, except those `isInUse` reports, and temporary folders left by crashed
   * merges. Returns the removed names.
   * NOTE: another process sharing the cache folder does not know this process's `isInUse`, so
   * its collection can remove an adapter that a server here has loaded. A server that reloads it
   * from disk then fails. Give each worker its own cache folder, or a large maxEntries.
   */
  async collectGarbage(): Promise<string[]> {
    const entries = await readdir(this.options.dir, { withFileTypes: true }).catch(() => []);
    const now = this.now();
    const merged: { name: string; lastUse: number }[] = [];

    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const path = join(this.options.dir, entry.name);
      const info = await stat(path).catch(() => null);
      if (info === null) continue;

      if (entry.name.startsWith(TEMPORARY_PREFIX)) {
        if (now - info.mtimeMs > STALE_TEMPORARY_MS) await rm(path, { recursive: true, force: true });
      } else if (MERGED_NAME_PATTERN.test(entry.name)) {
        merged.push({ name: entry.name, lastUse: info.mtimeMs });
      }
    }

    merged.sort((a, b) => b.lastUse - a.lastUse || a.name.localeCompare(b.name));
    const removed: string[] = [];
    let kept = 0;
    for (const entry of merged) {
      const inUse = this.options.isInUse?.(entry.name) ?? false;
      const tooOld = this.maxAgeMs !== null && now - entry.lastUse > this.maxAgeMs;
      if (inUse || (!tooOld && kept < this.maxEntries)) {
        kept += 1;
        continue;
      }
      await rm(join(this.options.dir, entry.name), { recursive: true, force: true });
      removed.push(entry.name);
    }
    return removed;
  }
}

async function isCompleteAdapter(path: string): Promise<boolean> {
  const config = await stat(join(path, ADAPTER_CONFIG_FILE)).catch(() => null);
  const weights = await stat(join(path, ADAPTER_WEIGHTS_FILE)).catch(() => null);
  return config !== null && weights !== null;
}

function isAlreadyExists(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "EEXIST" || code === "ENOTEMPTY" || code === "EPERM";
}
