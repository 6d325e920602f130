import { toCsv, type CsvColumn } from "./csv";

// Rows of the compare page's table and its CSV export.

export interface CompareRun {
  id: string;
  task: string;
  pool: string;
  method: string;
  seed: number;
  status: string;
  bestDev: number | null;
  bestTest: number | null;
  backendCalls: number;
  cacheHits: number;
  /** Seconds between start and finish; null while running or never started. */
  wallSeconds: number | null;
  cGain: number | null;
  simulated: boolean;
}

export const COMPARE_COLUMNS: readonly CsvColumn<CompareRun>[] = [
  { header: "run", value: (r) => r.id },
  { header: "task", value: (r) => r.task },
  { header: "pool", value: (r) => r.pool },
  { header: "method", value: (r) => r.method },
  { header: "seed", value: (r) => r.seed },
  { header: "status", value: (r) => r.status },
  { header: "best_dev", value: (r) => r.bestDev },
  { header: "best_test", value: (r) => r.bestTest },
  { header: "backend_calls", value: (r) => r.backendCalls },
  { header: "cache_hits", value: (r) => r.cacheHits },
  { header: "wall_seconds", value: (r) => r.wallSeconds },
  { header: "c_gain", value: (r) => r.cGain },
  { header: "simulated", value: (r) => r.simulated },
];

export function compareCsv(runs: readonly CompareRun[]): string {
  return toCsv(COMPARE_COLUMNS, runs);
}

/** Wall time of a run in seconds, from ISO timestamps; null unless both are set. */
export function wallSeconds(startedAt: string | null | undefined, finishedAt: string | null | undefined): number | null {
  if (!startedAt || !finishedAt) return null;
  const seconds = (Date.parse(finishedAt) - Date.parse(startedAt)) / 1000;
  return Number.isFinite(seconds) ? seconds : null;
}

