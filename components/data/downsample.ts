// Downsampling of per-step chart rows. A run of 200 iterations has about 200 rows per chart, more
// than a chart a few hundred pixels wide can show, and drawing them all makes every update slow.
// Consecutive rows are combined into at most `maxPoints` buckets. Each bucket keeps the minimum,
// maximum and mean of every value, so that a tooltip can show what a point stands for.

/** Rule for a bucket's drawn value: the mean of its rows, or their maximum for running bests. */
export type Combine = "mean" | "max";

export interface BucketValue {
  min: number;
  max: number;
  mean: number;
  /** Rows of the bucket that have this value. */
  count: number;
}

export interface StepBucket {
  /** Labels of the first and the last row combined. */
  first: string;
  last: string;
  /** Rows combined. */
  count: number;
  values: Record<string, BucketValue>;
}

/** A row as the charts read it: an x-axis label, an iteration and numeric values by key. */
export type ChartRow = { label: string; iteration: number } & Record<string, number | string>;

/** Rows to draw, and for each drawn row its bucket; buckets is null when every row is drawn. */
export interface Downsampled<Row> {
  rows: Row[];
  buckets: StepBucket[] | null;
}

/** Key of the bucket index in a downsampled row, which a tooltip reads to find the bucket. */
export const BUCKET_KEY = "bucket";

/**
 * Splits `length` rows into min(length, maxPoints) consecutive ranges whose sizes differ by at
 * most one. Returns [start, end) pairs.
 */
export function bucketRanges(length: number, maxPoints: number): [number, number][] {
  if (!Number.isInteger(maxPoints) || maxPoints < 1) throw new Error(`maxPoints must be a positive integer, but got ${maxPoints}`);
  const buckets = Math.min(length, maxPoints);
  const ranges: [number, number][] = [];
  for (let i = 0; i < buckets; i++) ranges.push([Math.floor((i * length) / buckets), Math.floor(((i + 1) * length) / buckets)]);
  return ranges;
}

/**
 * Combines `rows` into at most `maxPoints` rows. A combined row takes the last row's fields,
 * its iteration as the label and the bucket index under BUCKET_KEY. Each key in `combine` gets
 * the mean or maximum of the rows that have it. A key that no row of the bucket has stays
 * absent, so that the chart leaves a gap. With no more than `maxPoints` rows, returns them as
 * they are.
 */
export function downsampleRows<Row extends ChartRow>(rows: readonly Row[], combine: Readonly<Record<string, Combine>>, maxPoints: number): Downsampled<Row> {
  if (rows.length <= maxPoints) return { rows: [...rows], buckets: null };

  const keys = Object.keys(combine);
  const drawn: Row[] = [];
  const buckets: StepBucket[] = [];
  for (const [start, end] of bucketRanges(rows.length, maxPoints)) {
    const first = rows[start];
    const last = rows[end - 1];
    const row = { ...last, label: String(last.iteration), [BUCKET_KEY]: buckets.length } as Row;
    const bucket: StepBucket = { first: first.label, last: last.label, count: end - start, values: {} };

    for (const key of keys) {
      const value = combineValues(rows, start, end, key);
      if (value === null) {
        delete (row as Record<string, unknown>)[key];
        continue;
      }
      bucket.values[key] = value;
      (row as Record<string, number | string>)[key] = combine[key] === "max" ? value.max : value.mean;
    }
    drawn.push(row);
    buckets.push(bucket);
  }
  return { rows: drawn, buckets };
}

function combineValues(rows: readonly ChartRow[], start: number, end: number, key: string): BucketValue | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let count = 0;
  for (let i = start; i < end; i++) {
    const value = rows[i][key];
    if (typeof value !== "number") continue;
    min = Math.min(min, value);
    max = Math.max(max, value);
    sum += value;
    count += 1;
  }
  return count === 0 ? null : { min, max, mean: sum / count, count };
}

/**
 * Returns `previous` when it is structurally equal to `next` (same JSON-like content), else
 * `next`. The run page passes unchanged chart data on as the same object, so that memoized
 * charts skip drawing when a step changed other charts only.
 */
export function keepIfEqual<T>(previous: T | undefined, next: T): T {
  return previous !== undefined && sameValue(previous, next) ? previous : next;
}

/** Structural equality of JSON-like values: numbers, strings, booleans, null, arrays and plain objects. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;

  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }

  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  for (const key of aKeys) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) return false;
    if (!sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}
