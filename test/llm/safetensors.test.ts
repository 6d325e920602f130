import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeFloats,
  encodeFloats,
  numberToBf16Bits,
  numberToF16Bits,
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  SafetensorsError,
  serializeSafetensors,
  writeSafetensorsFile,
  type RawTensor,
} from "../../server/llm/safetensors";

// Reference decoders written independently of the module under test: binary16 from its
// definition, bfloat16 as the upper half of a float32.

function referenceF16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  if (exponent === 0) return sign * (fraction / 1024) * 2 ** -14;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function referenceBf16(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

/** Nearest value of a sorted table of finite positive values, ties to the even bit pattern; the brute-force oracle for rounding. */
function nearestBits(value: number, table: { value: number; bits: number }[], infinityBits: number, signBit: number): number {
  const sign = value < 0 || Object.is(value, -0) ? signBit : 0;
  const magnitude = Math.abs(value);
  const largest = table[table.length - 1];
  const beyond = largest.value + (largest.value - table[table.length - 2].value);
  // Past the largest finite value, the next would-be value (beyond) is infinity, whose fraction is even.
  if (magnitude >= (largest.value + beyond) / 2) return sign | infinityBits;

  let low = 0;
  let high = table.length - 1;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if (table[middle].value <= magnitude) low = middle;
    else high = middle;
  }
  const below = table[low];
  const above = table[high];
  if (magnitude <= below.value) return sign | below.bits;
  const distanceBelow = magnitude - below.value;
  const distanceAbove = above.value - magnitude;
  if (distanceBelow < distanceAbove) return sign | below.bits;
  if (distanceAbove < distanceBelow) return sign | above.bits;
  return sign | ((below.bits & 1) === 0 ? below.bits : above.bits);
}

function positiveTable(decode: (bits: number) => number, infinityBits: number): { value: number; bits: number }[] {
  const table: { value: number; bits: number }[] = [];
  for (let bits = 0; bits < infinityBits; bits++) table.push({ value: decode(bits), bits });
  return table;
}

/** Deterministic doubles spread over many magnitudes (a 32-bit linear congruential generator). */
function* sampleDoubles(count: number, minExponent: number, maxExponent: number): Generator<number> {
  let state = 12345;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  for (let i = 0; i < count; i++) {
    const exponent = minExponent + Math.floor(next() * (maxExponent - minExponent));
    const sign = next() < 0.5 ? -1 : 1;
    yield sign * (1 + next()) * 2 ** exponent;
  }
}

function bitsOf(dtype: "F16" | "BF16", value: number): number {
  return new DataView(encodeFloats(dtype, [value]).buffer).getUint16(0, true);
}

describe("F16 conversion", () => {
  it("decodes every bit pattern like the reference formula", () => {
    const bytes = new Uint8Array(2 * 65536);
    const view = new DataView(bytes.buffer);
    for (let bits = 0; bits < 65536; bits++) view.setUint16(2 * bits, bits, true);
    const decoded = decodeFloats("F16", bytes);
    const mismatches: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const same = Object.is(decoded[bits], referenceF16(bits)) || (Number.isNaN(decoded[bits]) && Number.isNaN(referenceF16(bits)));
      if (!same) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it("re-encodes every non-NaN bit pattern to itself", () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const value = referenceF16(bits);
      if (Number.isNaN(value)) continue;
      if (numberToF16Bits(value) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it.each([
    ["largest finite", 65504, 0x7bff],
    ["just below the overflow tie", 65519.99, 0x7bff],
    ["overflow tie rounds to infinity", 65520, 0x7c00],
    ["negative overflow", -1e6, 0xfc00],
    ["smallest subnormal", 2 ** -24, 0x0001],
    ["half the smallest subnormal ties to zero", 2 ** -25, 0x0000],
    ["just above half the smallest subnormal", 2 ** -25 * (1 + 2 ** -20), 0x0001],
    ["1.5 subnormal units tie to even 2", 1.5 * 2 ** -24, 0x0002],
    ["largest subnormal", 1023 * 2 ** -24, 0x03ff],
    ["subnormal rounding up into the smallest normal", 1023.5 * 2 ** -24, 0x0400],
    ["smallest normal", 2 ** -14, 0x0400],
    ["one plus half an ulp ties to even", 1 + 2 ** -11, 0x3c00],
    ["one plus three half ulps ties up to even", 1 + 3 * 2 ** -11, 0x3c02],
    ["rounding carries into the exponent", 2 - 2 ** -12, 0x4000],
    ["negative zero", -0, 0x8000],
    ["positive infinity", Infinity, 0x7c00],
    ["negative infinity", -Infinity, 0xfc00],
  ])("encodes %s", (_, value, expected) => {
    expect(bitsOf("F16", value)).toBe(expected);
  });

  it("encodes NaN as a NaN", () => {
    expect(Number.isNaN(referenceF16(bitsOf("F16", NaN)))).toBe(true);
  });

  it("rounds doubles like a brute-force nearest search", () => {
    const table = positiveTable(referenceF16, 0x7c00);
    const mismatches: number[] = [];
    for (const value of sampleDoubles(20_000, -26, 17)) {
      if (numberToF16Bits(value) !== nearestBits(value, table, 0x7c00, 0x8000)) mismatches.push(value);
    }
    expect(mismatches).toEqual([]);
  });
});

describe("BF16 conversion", () => {
  it("decodes every bit pattern like the upper half of a float32", () => {
    const bytes = new Uint8Array(2 * 65536);
    const view = new DataView(bytes.buffer);
    for (let bits = 0; bits < 65536; bits++) view.setUint16(2 * bits, bits, true);
    const decoded = decodeFloats("BF16", bytes);
    const mismatches: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const same = Object.is(decoded[bits], referenceBf16(bits)) || (Number.isNaN(decoded[bits]) && Number.isNaN(referenceBf16(bits)));
      if (!same) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it("re-encodes every non-NaN bit pattern to itself", () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const value = referenceBf16(bits);
      if (Number.isNaN(value)) continue;
      if (numberToBf16Bits(value) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it.each([
    ["one plus half an ulp ties to even", 1 + 2 ** -8, 0x3f80],
    ["one plus three half ulps ties up to even", 1 + 3 * 2 ** -8, 0x3f82],
    ["largest finite", (2 - 2 ** -7) * 2 ** 127, 0x7f7f],
    ["float32 maximum overflows", 3.4028234663852886e38, 0x7f80],
    ["just below the overflow tie", (2 - 2 ** -8) * 2 ** 127 * (1 - 2 ** -30), 0x7f7f],
    ["smallest subnormal", 2 ** -133, 0x0001],
    ["half the smallest subnormal ties to zero", 2 ** -134, 0x0000],
    ["smallest normal", 2 ** -126, 0x0080],
    ["a double between two bfloat16 values that float32 would round to a tie", 1 + 2 ** -8 + 2 ** -40, 0x3f81],
    ["negative zero", -0, 0x8000],
    ["negative infinity", -Infinity, 0xff80],
  ])("encodes %s", (_, value, expected) => {
    expect(bitsOf("BF16", value)).toBe(expected);
  });

  it("encodes NaN as a NaN", () => {
    expect(Number.isNaN(referenceBf16(bitsOf("BF16", NaN)))).toBe(true);
  });

  it("rounds doubles like a brute-force nearest search", () => {
    const table = positiveTable(referenceBf16, 0x7f80);
    const mismatches: number[] = [];
    for (const value of sampleDoubles(20_000, -135, 128)) {
      if (numberToBf16Bits(value) !== nearestBits(value, table, 0x7f80, 0x8000)) mismatches.push(value);
    }
    expect(mismatches).toEqual([]);
  });
});

describe("F32 conversion", () => {
  it("rounds doubles to nearest even", () => {
    const decoded = decodeFloats("F32", encodeFloats("F32", [1 + 2 ** -24, 1 + 3 * 2 ** -24, -0, NaN, -Infinity]));
    expect(decoded[0]).toBe(1);
    expect(decoded[1]).toBe(1 + 2 ** -22);
    expect(Object.is(decoded[2], -0)).toBe(true);
    expect(Number.isNaN(decoded[3])).toBe(true);
    expect(decoded[4]).toBe(-Infinity);
  });
});

/** Reads a safetensors buffer with a minimal parser written for the test, independent of the module's. */
function readIndependently(bytes: Uint8Array): { header: Record<string, any>; dataStart: number } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + length)).toString("utf8"));
  return { header, dataStart: 8 + length };
}

function f32Bytes(values: number[]): Uint8Array {
  const bytes = new Uint8Array(4 * values.length);
  values.forEach((v, i) => new DataView(bytes.buffer).setFloat32(4 * i, v, true));
  return bytes;
}

/** Assembles a safetensors file by hand, for malformed-file cases. */
function handMade(header: unknown, data: Uint8Array = new Uint8Array(0), declaredLength?: number): Uint8Array {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header), "utf8");
  const bytes = new Uint8Array(8 + json.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(declaredLength ?? json.length), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.length);
  return bytes;
}

describe("safetensors files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hswarm-safetensors-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const tensors: RawTensor[] = [
    { name: "b.weight", dtype: "F32", shape: [2, 3], data: f32Bytes([1, -2, 3.5, 0, 1e-30, -7]) },
    { name: "a.weight", dtype: "F16", shape: [3], data: new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b]) },
    { name: "empty", dtype: "BF16", shape: [0, 4], data: new Uint8Array(0) },
    { name: "scalar", dtype: "F32", shape: [], data: f32Bytes([42]) },
  ];

  it("writes a header that an independent reader understands", () => {
    const bytes = serializeSafetensors(tensors, { format: "pt" });
    const { header, dataStart } = readIndependently(bytes);

    expect(dataStart % 8).toBe(0);
    expect(header.__metadata__).toEqual({ format: "pt" });
    expect(header["b.weight"]).toEqual({ dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
    expect(header["a.weight"]).toEqual({ dtype: "F16", shape: [3], data_offsets: [24, 30] });
    expect(header.empty).toEqual({ dtype: "BF16", shape: [0, 4], data_offsets: [30, 30] });
    expect(header.scalar).toEqual({ dtype: "F32", shape: [], data_offsets: [30, 34] });
    expect(Array.from(bytes.subarray(dataStart + 24, dataStart + 30))).toEqual([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b]);
    expect(bytes.length).toBe(dataStart + 34);
  });

  it("round-trips tensors and metadata through a file", async () => {
    const path = join(dir, "roundtrip.safetensors");
    await writeSafetensorsFile(path, tensors, { format: "pt", note: "ü" });
    const read = await readSafetensors(path);

    expect(read.metadata).toEqual({ format: "pt", note: "ü" });
    expect(read.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
    for (const [i, tensor] of read.tensors.entries()) {
      expect(tensor.dtype).toBe(tensors[i].dtype);
      expect(tensor.shape).toEqual(tensors[i].shape);
      expect(Array.from(tensor.data)).toEqual(Array.from(tensors[i].data));
    }
  });

  it("reads a header without reading the data", async () => {
    const path = join(dir, "header.safetensors");
    await writeFile(path, serializeSafetensors(tensors));
    const header = await readSafetensorsHeader(path);

    expect(header.metadata).toBeNull();
    expect(header.tensors.find((t) => t.name === "a.weight")).toEqual({ name: "a.weight", dtype: "F16", shape: [3], begin: 24, end: 30 });
    expect(header.dataStart).toBe(readIndependently(await readFile(path)).dataStart);
  });

  it("reads a file written by an unpadded writer", () => {
    const bytes = handMade({ x: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, f32Bytes([1.5, -2.5]));
    const parsed = parseSafetensors(bytes);
    expect(Array.from(decodeFloats("F32", parsed.tensors[0].data))).toEqual([1.5, -2.5]);
  });

  it.each([
    ["a file shorter than 8 bytes", new Uint8Array(5), /shorter than the 8-byte header length/],
    ["a header length beyond the file", handMade({}, new Uint8Array(0), 999), /header length is 999 bytes but only 2 follow/],
    ["a header that is not JSON", handMade("{not json"), /not valid JSON/],
    ["a header that is not an object", handMade("[1, 2]"), /does not start with '\{'/],
    ["an unknown dtype", handMade({ x: { dtype: "F12", shape: [1], data_offsets: [0, 2] } }, new Uint8Array(2)), /tensor "x": unknown dtype "F12"/],
    ["offsets that do not match the shape", handMade({ x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "x": .* needs 12/],
    [
      "a gap between tensors",
      handMade(
        { x: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, y: { dtype: "F32", shape: [1], data_offsets: [8, 12] } },
        new Uint8Array(12),
      ),
      /tensor "y" starts at byte 8 of the data, but the previous tensor ends at 4/,
    ],
    ["bytes after the last tensor", handMade({ x: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(6)), /cover 4 bytes of data, but the file has 6/],
    ["a metadata value that is not a string", handMade({ __metadata__: { n: 1 } }), /__metadata__\["n"\] must be a string/],
    ["a negative dimension", handMade({ x: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } }), /shape must be an array of non-negative integers/],
  ])("rejects %s", (_, bytes, message) => {
    expect(() => parseSafetensors(bytes as Uint8Array)).toThrow(SafetensorsError);
    expect(() => parseSafetensors(bytes as Uint8Array)).toThrow(message);
  });

  it("rejects duplicate tensor names on write", () => {
    expect(() => serializeSafetensors([tensors[0], tensors[0]])).toThrow(/duplicate tensor name "b.weight"/);
  });

  it("rejects data of the wrong length on write", () => {
    expect(() => serializeSafetensors([{ name: "x", dtype: "F32", shape: [2], data: new Uint8Array(4) }])).toThrow(/needs 8 bytes, but got 4/);
  });

  it("leaves no file behind when a write fails", async () => {
    const path = join(dir, "failed.safetensors");
    const failing = { name: "x", dtype: "F32", shape: [1], data: () => Promise.reject(new Error("producer failed")) };
    await expect(writeSafetensorsFile(path, [failing])).rejects.toThrow("producer failed");
    const { readdir } = await import("node:fs/promises");
    expect((await readdir(dir)).filter((name) => name.startsWith("failed"))).toEqual([]);
  });
});
