import { describe, expect, it } from "vitest";
import { BUCKET_KEY, bucketRanges, downsampleRows, keepIfEqual, sameValue, type ChartRow } from "../../components/data/downsample";

function rows(values: (number | undefined)[]): ChartRow[] {
  return values.map((value, i) => {
    const row: ChartRow = { label: `${i + 1} role`, iteration: i + 1 };
    if (value !== undefined) row.u = value;
    row.best = i;
    return row;
  });
}

describe("bucketRanges", () => {
  it("covers every row once, in order", () => {
    const ranges = bucketRanges(201, 100);

    expect(ranges).toHaveLength(100);
    expect(ranges[0][0]).toBe(0);
    expect(ranges[99][1]).toBe(201);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBe(ranges[i - 1][1]);
  });

  it("makes sizes that differ by at most one", () => {
    const sizes = bucketRanges(201, 100).map(([start, end]) => end - start);

    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it("keeps one row per range when there are few rows", () => {
    expect(bucketRanges(3, 100)).toEqual([[0, 1], [1, 2], [2, 3]]);
  });

  it("rejects a maxPoints below one", () => {
    expect(() => bucketRanges(10, 0)).toThrow(/maxPoints/);
  });
});

describe("downsampleRows", () => {
  it("returns few rows unchanged without buckets", () => {
    const input = rows([0.1, 0.2, 0.3]);
    const result = downsampleRows(input, { u: "mean" }, 3);

    expect(result.rows).toEqual(input);
    expect(result.buckets).toBeNull();
  });

  it("draws the mean of a bucket and keeps its range", () => {
    const result = downsampleRows(rows([0.2, 0.6, 0.1, 0.3]), { u: "mean", best: "max" }, 2);

    expect(result.rows).toHaveLength(2);
    expect(result.rows[0].u).toBeCloseTo(0.4);
    expect(result.buckets?.[0].values.u).toEqual({ min: 0.2, max: 0.6, mean: expect.closeTo(0.4), count: 2 });
  });

  it("draws the maximum of a running best", () => {
    const result = downsampleRows(rows([0.2, 0.6, 0.1, 0.3]), { u: "mean", best: "max" }, 2);

    expect(result.rows.map((row) => row.best)).toEqual([1, 3]);
  });

  it("labels a drawn row with its last iteration and points to its bucket", () => {
    const result = downsampleRows(rows([0.2, 0.6, 0.1, 0.3]), { u: "mean" }, 2);

    expect(result.rows.map((row) => row.label)).toEqual(["2", "4"]);
    expect(result.rows.map((row) => row[BUCKET_KEY])).toEqual([0, 1]);
  });

  it("names the first and last step of each bucket", () => {
    const result = downsampleRows(rows([0.2, 0.6, 0.1, 0.3]), { u: "mean" }, 2);

    expect(result.buckets?.[1]).toMatchObject({ first: "3 role", last: "4 role", count: 2 });
  });

  it("averages only the rows that have a value", () => {
    const result = downsampleRows(rows([0.2, undefined, 0.1, 0.3]), { u: "mean" }, 2);

    expect(result.rows[0].u).toBe(0.2);
    expect(result.buckets?.[0].values.u.count).toBe(1);
  });

  it("leaves a value absent when no row of the bucket has it", () => {
    const result = downsampleRows(rows([undefined, undefined, 0.1, 0.3]), { u: "mean" }, 2);

    expect("u" in result.rows[0]).toBe(false);
    expect(result.buckets?.[0].values.u).toBeUndefined();
  });

  it("draws at most maxPoints rows for a 200-iteration run", () => {
    const values = Array.from({ length: 201 }, (_, i) => (i % 7) / 10);

    expect(downsampleRows(rows(values), { u: "mean" }, 100).rows).toHaveLength(100);
  });
});

describe("sameValue", () => {
  it("compares nested arrays and objects by content", () => {
    expect(sameValue({ a: [1, { b: "x" }], c: null }, { a: [1, { b: "x" }], c: null })).toBe(true);
  });

  it("tells a changed number apart", () => {
    expect(sameValue({ a: [1, 2] }, { a: [1, 3] })).toBe(false);
  });

  it("tells an extra key apart", () => {
    expect(sameValue({ a: 1 }, { a: 1, b: undefined })).toBe(false);
  });

  it("tells an array from an object apart", () => {
    expect(sameValue([1], { 0: 1 })).toBe(false);
  });
});

describe("keepIfEqual", () => {
  it("returns the previous object when the content is equal", () => {
    const previous = { rows: [{ u: 1 }] };

    expect(keepIfEqual(previous, { rows: [{ u: 1 }] })).toBe(previous);
  });

  it("returns the next object when the content changed", () => {
    const next = { rows: [{ u: 2 }] };

    expect(keepIfEqual({ rows: [{ u: 1 }] }, next)).toBe(next);
  });

  it("returns the next object without a previous one", () => {
    const next = { rows: [] };

    expect(keepIfEqual(undefined, next)).toBe(next);
  });
});
