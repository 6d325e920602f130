import type { CollaborativeGainBucketShape } from "./types";

// Collaborative-gain chart: items bucketed by k, the number of pool models that solve them alone.
// Each bucket is a stacked bar (solved / unsolved by the system) with the system's accuracy
// against the expected k/n on a second axis.

export interface CGainBar {
  /** Axis label with the counts, "k=2 · 5/6": recharts draws no segment or label for a zero count. */
  label: string;
  k: number;
  items: number;
  solved: number;
  unsolved: number;
  /** Accuracy of the system on the bucket; absent for an empty bucket, so no point is drawn. */
  accuracy?: number;
  expected: number;
}

export function cGainBars(buckets: readonly CollaborativeGainBucketShape[]): CGainBar[] {
  return buckets.map((bucket) => {
    const bar: CGainBar = {
      label: `k=${bucket.k} · ${bucket.solved}/${bucket.items}`,
      k: bucket.k,
      items: bucket.items,
      solved: bucket.solved,
      unsolved: bucket.items - bucket.solved,
      expected: bucket.expected,
    };
    if (bucket.accuracy !== null) bar.accuracy = bucket.accuracy;
    return bar;
  });
}

/** C-Gain = Σ_k (|B_k|/|D|)·(acc_k − k/n); empty buckets add 0. Used when a result carries buckets only. */
export function cGainFromBuckets(buckets: readonly CollaborativeGainBucketShape[]): number {
  const total = buckets.reduce((sum, b) => sum + b.items, 0);
  if (total === 0) return 0;
  return buckets.reduce((sum, b) => (b.accuracy === null ? sum : sum + (b.items / total) * (b.accuracy - b.expected)), 0);
}
