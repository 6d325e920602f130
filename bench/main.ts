import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { resolveConfig } from "../server/core/config";
import { buildResult } from "../server/core/result";
import { createSearchState, runSearch } from "../server/core/search";
import type { Dataset } from "../server/core/types";
import { createSearchContext, datasetDomains } from "../server/engine";
import { GenerationCache } from "../server/llm/cache";
import { loadPool } from "../server/llm/pools";
import { loadDatasetFile } from "../server/tasks/load";
import { persistenceBenchmark } from "./persistence";
import { schedulingBenchmark } from "./scheduling";
import { uiBenchmark } from "./ui";
import { printTable } from "./table";

// `npm run bench`: performance figures of the engine, each printed as a table with a one-line
// summary. A benchmark fails loudly (exit 1) when its run is broken, never because it is slow.

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const datasetsDir = process.env.HSWARM_DATASETS ?? path.resolve(benchDir, "../../shared/datasets");

/** Loads the paper-scale task: 200 dev items from nlgraph, or synthetic items when the datasets are absent. */
function paperScaleDataset(): Dataset {
  const file = path.join(datasetsDir, "nlgraph.json");
  if (existsSync(file)) {
    const dataset = loadDatasetFile(file);
    return { ...dataset, dev: dataset.dev.slice(0, 200), test: dataset.test.slice(0, 200) };
  }
  console.log(`note: ${file} not found; using 200 synthetic dev items instead`);
  const item = (i: number) => ({ question: `Synthetic question ${i}: what is ${i} + ${i}?`, answer: String(2 * i), domain: `d${i % 4}` });
  return { name: "synthetic", dev: Array.from({ length: 200 }, (_, i) => item(i)), test: Array.from({ length: 200 }, (_, i) => item(1000 + i)) };
}

async function paperScaleRun() {
  const dataset = paperScaleDataset();
  const pool = loadPool("complementary-10", datasetDomains(dataset));
  // Patience is lifted so the run always takes 20 iterations, the maximum that Feng et al. 2025 use.
  const config = resolveConfig({ seed: 1, graphs: 10, assignments: 10, maxIterations: 20, patience: 1000 });
  const cache = new GenerationCache(pool.backend);
  const context = createSearchContext({ dataset, metric: "exact_match", pool, config }, cache);

  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const started = performance.now();
  const state = await runSearch(createSearchState(config, pool.info), context, () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  });
  const seconds = (performance.now() - started) / 1000;
  const result = buildResult(state, pool.info, { name: dataset.name, metric: "exact_match" });

  if (result.iterations !== 20) throw new Error(`the paper-scale run stopped after ${result.iterations} iterations instead of 20`);
  if (!(result.best.dev > 0)) throw new Error(`the paper-scale run found no useful system (best dev ${result.best.dev})`);
  return { result, seconds, peakRss, distinct: cache.size, dataset };
}

async function main(): Promise<void> {
  console.log("HSwarm benchmarks: simulated pool complementary-10 (n = 10), N = 10, M = 10, 200 dev items, 20 iterations, seed 1");
  const { result, seconds, peakRss, distinct, dataset } = await paperScaleRun();
  const calls = result.calls;
  const requests = calls.backend + calls.cacheHits;

  printTable("calls: backend calls against the reference algorithm's count", [
    {
      task: dataset.name,
      "reference calls": calls.reference,
      "cache requests": requests,
      "backend calls": calls.backend,
      "distinct triples": distinct,
      "cache hit rate": `${((calls.cacheHits / requests) * 100).toFixed(1)}%`,
      "ratio to reference": (calls.backend / calls.reference).toFixed(3),
    },
  ]);
  if (calls.backend !== distinct) {
    throw new Error(`backend calls (${calls.backend}) differ from distinct (model, weights, prompt) triples (${distinct}): a call was made twice`);
  }
  console.log(
    `calls: ${calls.backend.toLocaleString("en-US")} backend calls for ${calls.reference.toLocaleString("en-US")} reference calls ` +
      `(ratio ${(calls.backend / calls.reference).toFixed(3)}, no call made twice)`,
  );

  printTable("throughput: paper-scale run on the zero-latency simulated pool, no persistence", [
    {
      "wall time (s)": seconds.toFixed(1),
      "node evaluations": calls.reference,
      "node evaluations/s": Math.round(calls.reference / seconds),
      "backend calls/s": Math.round(calls.backend / seconds),
      "peak RSS (MiB)": Math.round(peakRss / 2 ** 20),
      "best dev": result.best.dev.toFixed(3),
      "best test": result.best.test.toFixed(3),
    },
  ]);
  console.log(`throughput: ${seconds.toFixed(1)} s for the whole run (target ≤ 60 s on 2 cores), ${Math.round(calls.reference / seconds)} node evaluations/s`);

  await persistenceBenchmark();
  await schedulingBenchmark();
  await uiBenchmark();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
