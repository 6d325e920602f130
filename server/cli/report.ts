import type { SearchResult } from "../core/result";
import type { StepRecord } from "../core/search";

/** Counts steps and estimates the time left from the mean duration of the steps run so far. */
export class ProgressClock {
  private readonly started = Date.now();
  private done: number;
  private readonly startedAt: number;

  constructor(
    readonly planned: number,
    alreadyDone: number,
  ) {
    this.done = alreadyDone;
    this.startedAt = alreadyDone;
  }

  tick(): { done: number; planned: number; etaSeconds: number | null } {
    this.done += 1;
    const ranHere = this.done - this.startedAt;
    const perStep = this.elapsedSeconds() / ranHere;
    const left = Math.max(0, this.planned - this.done);
    return { done: this.done, planned: this.planned, etaSeconds: ranHere > 0 ? perStep * left : null };
  }

  elapsedSeconds(): number {
    return (Date.now() - this.started) / 1000;
  }
}

/** Formats one progress line per step: iteration, best utilities, backend calls, cache hits and ETA. */
export function formatProgress(record: StepRecord, progress: ReturnType<ProgressClock["tick"]>, devItems: number): string {
  const usage = record.usage;
  const requests = usage.backendCalls + usage.cacheHits;
  const hitRate = requests === 0 ? 0 : usage.cacheHits / requests;
  const graphBest = record.graphGlobalBest === null || record.graphGlobalBest < -1e300 ? "  -  " : record.graphGlobalBest.toFixed(3);
  const eta = progress.done >= progress.planned || progress.etaSeconds === null ? "-" : `≤${formatDuration(progress.etaSeconds)}`;

  return [
    `[${String(progress.done).padStart(3)}/${progress.planned}]`,
    `iter ${String(record.iteration).padStart(2)}`,
    record.kind.padEnd(6),
    `graph best ${graphBest}`,
    `best dev ${formatUtility(record.bestDev)}`,
    `calls ${usage.backendCalls.toLocaleString("en-US")}`,
    `cache hits ${(hitRate * 100).toFixed(1)}%`,
    `ETA ${eta}`,
  ].join("  ") + (record.kind === "init" ? `  (${devItems} dev items)` : "");
}

function formatUtility(value: number): string {
  return Number.isFinite(value) ? value.toFixed(3) : "  -  ";
}

export function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, "0")}`;
}

/** Formats the end-of-run summary: utilities, the best DAG by model names, JFK-scores, C-Gain and timing. */
export function formatSummary(result: SearchResult, elapsedSeconds: number): string {
  const names = result.best.assignment;
  const edges =
    result.best.kind === "vote"
      ? `majority vote over ${names.join(", ")}`
      : result.best.edges.length === 0
        ? `${names[result.best.end]} alone`
        : result.best.edges.map(([from, to]) => `${names[from]}#${from} → ${names[to]}#${to}`).join(", ");
  const searched = result.iterations > 0 || !result.stopReason?.startsWith("fixed system");
  const jfk = searched ? result.models.map((model, i) => `${model} ${result.jfk[i].toFixed(3)}`).join(", ") : `not computed: the ${result.method} baseline does not search`;
  const calls = result.calls;
  const ratio = calls.reference === 0 ? 0 : calls.backend / calls.reference;

  return [
    "",
    `Best system (${result.method}, found in step ${result.best.foundAtStep + 1}): dev ${result.best.dev.toFixed(4)}, test ${result.best.test.toFixed(4)}`,
    `  DAG: ${edges}; end node ${names[result.best.end]}#${result.best.end}`,
    `  roles: ${result.best.roles.map((role, p) => `${names[p]}#${p} ${role}`).join(", ")}`,
    `Best single model: ${result.bestSingle.model}: dev ${result.bestSingle.dev.toFixed(4)}, test ${result.bestSingle.test.toFixed(4)}`,
    `JFK-scores: ${jfk}`,
    `C-Gain (test): ${result.cGain.toFixed(4)}`,
    `Calls: ${calls.backend.toLocaleString("en-US")} to the backend, ${calls.cacheHits.toLocaleString("en-US")} cache hits, ` +
      `${calls.reference.toLocaleString("en-US")} for the reference algorithm (ratio ${ratio.toFixed(3)})`,
    searched
      ? `Stopped by ${result.stopReason ?? "completion"} after ${result.iterations} iterations in ${elapsedSeconds.toFixed(1)} s`
      : `Evaluated the fixed ${result.method} system in ${elapsedSeconds.toFixed(1)} s`,
  ].join("\n");
}
