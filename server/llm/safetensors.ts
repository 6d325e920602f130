import { randomUUID } from "node:crypto";
import { open, rename, rm, type FileHandle } from "node:fs/promises";

// The safetensors format (huggingface/safetensors README): an 8-byte little-endian u64 N, then N
// bytes of UTF-8 JSON mapping each tensor name to {dtype, shape, data_offsets: [begin, end]} with
// offsets relative to the data buffer that follows, plus an optional "__metadata__" object of
// string values. Data is little-endian, row-major and packed without gaps.
//
// Only the float dtypes that LoRA adapters use are converted to numbers: F32, F16 and BF16.
// Tensors of other dtypes are still read and written as raw bytes.

/** Float dtypes that `decodeFloats` and `encodeFloats` convert. */
export type FloatDtype = "F32" | "F16" | "BF16";

export const FLOAT_DTYPES: readonly FloatDtype[] = ["F32", "F16", "BF16"];

/** Bytes per element of every dtype the safetensors format defines. */
const DTYPE_SIZES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** The 100 MB header limit that the safetensors README states, so that a hostile file cannot make us parse gigabytes of JSON. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** One tensor entry of a safetensors header; offsets are relative to the data buffer. */
export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** A parsed safetensors header. `dataStart` is the file offset of the data buffer (8 + N). */
export interface SafetensorsHeader {
  tensors: TensorInfo[];
  metadata: Record<string, string> | null;
  dataStart: number;
}

/** A tensor with its raw little-endian bytes. */
export interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

export interface SafetensorsContents {
  tensors: RawTensor[];
  metadata: Record<string, string> | null;
}

/** A malformed or unsupported safetensors file; `source` names the file (or "buffer"). */
export class SafetensorsError extends Error {
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = "SafetensorsError";
  }
}

export function isFloatDtype(dtype: string): dtype is FloatDtype {
  return (FLOAT_DTYPES as readonly string[]).includes(dtype);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

/**
 * Parses the header of a safetensors file from its first bytes. `bytes` must contain at least
 * 8 + N bytes; `fileSize`, when known, is checked against the data offsets.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, source = "buffer", fileSize?: number): SafetensorsHeader {
  if (bytes.length < 8) throw new SafetensorsError(source, `file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const headerLength = readHeaderLength(bytes, source);
  if (bytes.length < 8 + headerLength) {
    throw new SafetensorsError(source, `header length is ${headerLength} bytes but only ${bytes.length - 8} follow`);
  }

  const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  if (!text.startsWith("{")) throw new SafetensorsError(source, "header does not start with '{'");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(source, `header is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new SafetensorsError(source, "header must be a JSON object");
  }

  const { tensors, metadata } = readHeaderEntries(json as Record<string, unknown>, source);
  const dataStart = 8 + headerLength;
  checkOffsets(tensors, source, fileSize === undefined ? undefined : fileSize - dataStart);
  return { tensors, metadata, dataStart };
}

function readHeaderLength(bytes: Uint8Array, source: string): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(source, `header length ${length} exceeds the maximum of ${MAX_HEADER_BYTES} bytes`);
  }
  return Number(length);
}

function readHeaderEntries(json: Record<string, unknown>, source: string): Omit<SafetensorsHeader, "dataStart"> {
  let metadata: Record<string, string> | null = null;
  const tensors: TensorInfo[] = [];

  for (const [name, value] of Object.entries(json)) {
    if (name === "__metadata__") {
      metadata = readMetadata(value, source);
      continue;
    }
    tensors.push(readTensorInfo(name, value, source));
  }
  return { tensors, metadata };
}

function readMetadata(value: unknown, source: string): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SafetensorsError(source, "__metadata__ must be an object of strings");
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== "string") throw new SafetensorsError(source, `__metadata__["${key}"] must be a string, but got ${typeof entry}`);
  }
  return value as Record<string, string>;
}

function readTensorInfo(name: string, value: unknown, source: string): TensorInfo {
  const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof entry !== "object" || entry === null) throw new SafetensorsError(source, `tensor "${name}": entry must be an object`);

  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== "string" || !(dtype in DTYPE_SIZES)) {
    throw new SafetensorsError(source, `tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
    throw new SafetensorsError(source, `tensor "${name}": shape must be an array of non-negative integers, but got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new SafetensorsError(source, `tensor "${name}": data_offsets must be [begin, end], but got ${JSON.stringify(offsets)}`);
  }

  const [begin, end] = offsets as [number, number];
  const expected = elementCount(shape) * DTYPE_SIZES[dtype];
  if (end - begin !== expected) {
    throw new SafetensorsError(
      source,
      `tensor "${name}": data_offsets [${begin}, ${end}] span ${end - begin} bytes, but ${dtype} ${JSON.stringify(shape)} needs ${expected}`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** Checks that the tensors cover the data buffer exactly once, without gaps or overlaps. */
function checkOffsets(tensors: readonly TensorInfo[], source: string, dataLength: number | undefined): void {
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  for (const tensor of sorted) {
    if (tensor.begin !== position) {
      throw new SafetensorsError(source, `tensor "${tensor.name}" starts at byte ${tensor.begin} of the data, but the previous tensor ends at ${position}`);
    }
    position = tensor.end;
  }
  if (dataLength !== undefined && position !== dataLength) {
    throw new SafetensorsError(source, `tensors cover ${position} bytes of data, but the file has ${dataLength}`);
  }
}

/** Parses a whole safetensors file held in memory. */
export function parseSafetensors(bytes: Uint8Array, source = "buffer"): SafetensorsContents {
  const header = parseSafetensorsHeader(bytes, source, bytes.length);
  const tensors = header.tensors.map((info) => ({
    name: info.name,
    dtype: info.dtype,
    shape: info.shape,
    data: bytes.slice(header.dataStart + info.begin, header.dataStart + info.end),
  }));
  return { tensors, metadata: header.metadata };
}

/** Reads only the header of a safetensors file, so that large files are not loaded to be checked. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const lengthBytes = await readAt(handle, path, 0, Math.min(8, size));
    const headerLength = lengthBytes.length === 8 ? readHeaderLength(lengthBytes, path) : 0;
    const prefix = await readAt(handle, path, 0, Math.min(8 + headerLength, size));
    return parseSafetensorsHeader(prefix, path, size);
  } finally {
    await handle.close();
  }
}

/** Reads one tensor's bytes from an open safetensors file whose header is `header`. */
export async function readTensorData(handle: FileHandle, header: SafetensorsHeader, info: TensorInfo, source = "file"): Promise<Uint8Array> {
  return readAt(handle, source, header.dataStart + info.begin, info.end - info.begin);
}

export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  const header = await readSafetensorsHeader(path);
  const handle = await open(path, "r");
  try {
    const tensors: RawTensor[] = [];
    for (const info of header.tensors) {
      tensors.push({ name: info.name, dtype: info.dtype, shape: info.shape, data: await readTensorData(handle, header, info, path) });
    }
    return { tensors, metadata: header.metadata };
  } finally {
    await handle.close();
  }
}

async function readAt(handle: FileHandle, source: string, position: number, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new SafetensorsError(source, `unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
  return buffer;
}

/** A tensor to write: its bytes, or a function that produces them when the writer reaches it. */
export interface TensorToWrite {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array | (() => Promise<Uint8Array> | Uint8Array);
}

/**
 * Builds the header bytes (8-byte length + JSON) for tensors written in the given order. The JSON
 * is padded with spaces so that the data buffer starts at a multiple of 8 bytes, which the
 * reference writer also does so that readers can map tensors without copying.
 */
export function encodeSafetensorsHeader(
  tensors: readonly Pick<TensorToWrite, "name" | "dtype" | "shape">[],
  metadata: Record<string, string> | null = null,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== null) header.__metadata__ = metadata;

  const names = new Set<string>();
  let offset = 0;
  for (const tensor of tensors) {
    if (tensor.name === "__metadata__") throw new SafetensorsError("writer", 'a tensor cannot be named "__metadata__"');
    if (names.has(tensor.name)) throw new SafetensorsError("writer", `duplicate tensor name "${tensor.name}"`);
    names.add(tensor.name);
    const size = DTYPE_SIZES[tensor.dtype];
    if (size === undefined) throw new SafetensorsError("writer", `tensor "${tensor.name}": unknown dtype "${tensor.dtype}"`);

    const length = elementCount(tensor.shape) * size;
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }

  let json = JSON.stringify(header);
  const jsonBytes = () => new TextEncoder().encode(json);
  const padding = (8 - (jsonBytes().length % 8)) % 8;
  json += " ".repeat(padding);

  const encoded = jsonBytes();
  const result = new Uint8Array(8 + encoded.length);
  new DataView(result.buffer).setBigUint64(0, BigInt(encoded.length), true);
  result.set(encoded, 8);
  return result;
}

/** Serialises tensors into one safetensors buffer, in the given order. */
export function serializeSafetensors(tensors: readonly RawTensor[], metadata: Record<string, string> | null = null): Uint8Array {
  const header = encodeSafetensorsHeader(tensors, metadata);
  const total = header.length + tensors.reduce((sum, t) => sum + t.data.length, 0);
  const result = new Uint8Array(total);
  result.set(header, 0);

  let position = header.length;
  for (const tensor of tensors) {
    checkDataLength(tensor.name, tensor.dtype, tensor.shape, tensor.data);
    result.set(tensor.data, position);
    position += tensor.data.length;
  }
  return result;
}

/**
 * Writes a safetensors file tensor by tensor, so that only one tensor's bytes are in memory at a
 * time. The file appears under `path` only once complete: it is written to a sibling temporary
 * file and renamed.
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> | null = null,
): Promise<void> {
  const temporary = `${path}.tmp-${randomUUID()}`;
  const handle = await open(temporary, "w");
  try {
    await handle.write(encodeSafetensorsHeader(tensors, metadata));
    for (const tensor of tensors) {
      const data = typeof tensor.data === "function" ? await tensor.data() : tensor.data;
      checkDataLength(tensor.name, tensor.dtype, tensor.shape, data);
      await handle.write(data);
    }
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  await rename(temporary, path);
}

function checkDataLength(name: string, dtype: string, shape: readonly number[], data: Uint8Array): void {
  const expected = elementCount(shape) * (DTYPE_SIZES[dtype] ?? Number.NaN);
  if (data.length !== expected) {
    throw new SafetensorsError("writer", `tensor "${name}": ${dtype} ${JSON.stringify(shape)} needs ${expected} bytes, but got ${data.length}`);
  }
}

/** Decodes little-endian F32, F16 or BF16 bytes to numbers; every value of these dtypes is exact in float32. */
export function decodeFloats(dtype: FloatDtype, bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = dtype === "F32" ? 4 : 2;
  if (bytes.byteLength % size !== 0) throw new SafetensorsError("decoder", `${bytes.byteLength} bytes is not a whole number of ${dtype} values`);

  const values = new Float32Array(bytes.byteLength / size);
  for (let i = 0; i < values.length; i++) {
    if (dtype === "F32") values[i] = view.getFloat32(4 * i, true);
    else if (dtype === "F16") values[i] = f16BitsToNumber(view.getUint16(2 * i, true));
    else values[i] = bf16BitsToNumber(view.getUint16(2 * i, true));
  }
  return values;
}

/**
 * Encodes numbers as little-endian F32, F16 or BF16, rounding each value once, to nearest with
 * ties to even, directly from the float64 input. Going through float32 first would round twice,
 * which gives a different F16 or BF16 value for some inputs.
 */
export function encodeFloats(dtype: FloatDtype, values: ArrayLike<number>): Uint8Array {
  const size = dtype === "F32" ? 4 : 2;
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) {
    if (dtype === "F32") view.setFloat32(4 * i, values[i], true);
    else if (dtype === "F16") view.setUint16(2 * i, numberToF16Bits(values[i]), true);
    else view.setUint16(2 * i, numberToBf16Bits(values[i]), true);
  }
  return bytes;
}

/** IEEE 754 binary16: 5 exponent bits (bias 15), 10 fraction bits. */
const F16 = { exponentBits: 5, fractionBits: 10 } as const;
/** bfloat16: the upper half of a float32, 8 exponent bits (bias 127), 7 fraction bits. */
const BF16 = { exponentBits: 8, fractionBits: 7 } as const;

export function f16BitsToNumber(bits: number): number {
  return minifloatToNumber(bits, F16);
}

export function bf16BitsToNumber(bits: number): number {
  return minifloatToNumber(bits, BF16);
}

export function numberToF16Bits(value: number): number {
  return numberToMinifloat(value, F16);
}

export function numberToBf16Bits(value: number): number {
  return numberToMinifloat(value, BF16);
}

interface MinifloatFormat {
  exponentBits: number;
  fractionBits: number;
}

function minifloatToNumber(bits: number, format: MinifloatFormat): number {
  const { exponentBits, fractionBits } = format;
  const bias = (1 << (exponentBits - 1)) - 1;
  const maxExponent = (1 << exponentBits) - 1;
  const sign = bits >> (exponentBits + fractionBits) ? -1 : 1;
  const exponent = (bits >> fractionBits) & maxExponent;
  const fraction = bits & ((1 << fractionBits) - 1);

  if (exponent === maxExponent) return fraction === 0 ? sign * Infinity : Number.NaN;
  if (exponent === 0) return sign * fraction * 2 ** (1 - bias - fractionBits);
  return sign * (1 + fraction / 2 ** fractionBits) * 2 ** (exponent - bias);
}

/**
 * Rounds a float64 to the nearest value of a binary format with ties to even, including
 * subnormals, overflow to infinity and signed zero. NaN becomes the quiet NaN with a clear sign
 * bit, because a float64 NaN's payload has no meaning for adapter weights.
 */
function numberToMinifloat(value: number, format: MinifloatFormat): number {
  const { exponentBits, fractionBits } = format;
  const bias = (1 << (exponentBits - 1)) - 1;
  const maxExponent = (1 << exponentBits) - 1;
  const signBit = 1 << (exponentBits + fractionBits);
  const infinityBits = maxExponent << fractionBits;

  if (Number.isNaN(value)) return infinityBits | (1 << (fractionBits - 1));
  const sign = value < 0 || Object.is(value, -0) ? signBit : 0;
  const magnitude = Math.abs(value);
  if (magnitude === Infinity) return sign | infinityBits;

  const minNormalExponent = 1 - bias;
  if (magnitude < 2 ** minNormalExponent) {
    // Subnormal range: the value is a multiple of the smallest subnormal. A result of
    // 2^fractionBits units is the smallest normal number, whose bits follow on directly.
    const units = roundHalfToEven(magnitude * 2 ** (fractionBits - minNormalExponent));
    return sign | units;
  }

  let exponent = float64Exponent(magnitude);
  let significand = roundHalfToEven(magnitude * 2 ** (fractionBits - exponent));
  if (significand === 2 ** (fractionBits + 1)) {
    exponent += 1;
    significand = 2 ** fractionBits;
  }
  if (exponent + bias >= maxExponent) return sign | infinityBits;
  return sign | ((exponent + bias) << fractionBits) | (significand - 2 ** fractionBits);
}

/** floor(log2(x)) for a positive normal float64, read from its exponent field so that it is exact. */
function float64Exponent(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return ((view.getUint16(0) >> 4) & 0x7ff) - 1023;
}

/** Both the input and its fractional part are exact in float64 here, so the tie test is exact. */
function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
