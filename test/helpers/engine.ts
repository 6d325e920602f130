import { existsSync } from "node:fs";
import path from "node:path";
import { resolveConfig, type SearchConfigInput } from "../../server/core/config";
import { buildResult, type SearchResult } from "../../server/core/result";
import { createSearchState, runSearch, type SearchContext, type SearchState } from "../../server/core/search";
import type { Dataset, MetricName } from "../../server/core/types";
import { createSearchContext, datasetDomains } from "../../server/engine";
import { GenerationCache } from "../../server/llm/cache";
import { loadPool, type LoadedPool } from "../../server/llm/pools";

/** Folder of the evaluation files published with Heterogeneous Swarms; tests that read them skip when it is absent. */
export const DATASETS_DIR = process.env.HSWARM_DATASETS ?? path.resolve(__dirname, "../../../shared/datasets");
export const HAVE_DATASETS = existsSync(DATASETS_DIR);
if (!HAVE_DATASETS) {
  console.warn(`skipping dataset tests: ${DATASETS_DIR} not found (set HSWARM_DATASETS to the folder of the paper's evaluation files)`);
}

/** Builds a small multiple-choice task over four domains, made up for tests. */
export function syntheticTask(devCount = 24, testCount = 24): Dataset {
  const item = (i: number) => ({
    question: `Synthetic question ${i}: which option is marked correct?`,
    choices: { A: `alpha ${i}`, B: `beta ${i}`, C: `gamma ${i}`, D: `delta ${i}` },
    answer: "ABCD"[(i * 7) % 4],
    domain: ["algebra", "biology", "chemistry", "history"][i % 4],
  });
  return {
    name: "synthetic",
    dev: Array.from({ length: devCount }, (_, i) => item(i)),
    test: Array.from({ length: testCount }, (_, i) => item(1000 + i)),
  };
}

export interface Harness {
  pool: LoadedPool;
  cache: GenerationCache;
  context: SearchContext;
  initial: SearchState;
}

export function createHarness(dataset: Dataset, poolName: string, config: SearchConfigInput, metric?: MetricName, cache?: GenerationCache): Harness {
  const pool = loadPool(poolName, datasetDomains(dataset));
  const resolved = resolveConfig(config);
  const ownCache = cache ?? new GenerationCache(pool.backend);
  const context = createSearchContext({ dataset, metric: metric ?? (dataset.dev[0].choices ? "multiple_choice" : "exact_match"), pool, config: resolved }, ownCache);
  return { pool, cache: ownCache, context, initial: createSearchState(resolved, pool.info) };
}

export async function runToResult(harness: Harness): Promise<SearchResult> {
  const final = await runSearch(harness.initial, harness.context);
  return buildResult(final, harness.pool.info, { name: "test", metric: harness.context.evaluation.metric });
}
