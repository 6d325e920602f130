import { extractAnswer } from "./core/answers";
import type { SearchConfig } from "./core/config";
import type { Judge } from "./core/evaluate";
import { DEFAULT_TEMPLATES } from "./core/prompts";
import type { SearchContext } from "./core/search";
import type { Dataset, MetricName, PromptTemplates } from "./core/types";
import { GenerationCache } from "./llm/cache";
import type { LoadedPool } from "./llm/pools";

export interface EngineSetup {
  dataset: Dataset;
  metric: MetricName;
  pool: LoadedPool;
  config: SearchConfig;
  templates?: PromptTemplates;
  judge?: Judge;
}

/** Wires a dataset, a pool behind a generation cache and a configuration into a search context. */
export function createSearchContext(setup: EngineSetup, cache: GenerationCache): SearchContext {
  const { dataset, config } = setup;
  const dev = config.devLimit === null ? dataset.dev : dataset.dev.slice(0, config.devLimit);
  const test = config.testLimit === null ? dataset.test : dataset.test.slice(0, config.testLimit);

  return {
    pool: setup.pool.info,
    dev,
    test,
    usage: () => cache.usage(),
    evaluation: {
      generate: cache.generate,
      templates: setup.templates ?? DEFAULT_TEMPLATES,
      settings: { temperature: config.temperature, maxTokens: config.maxTokens, topP: 1 },
      iclPrompt: dataset.icl_prompt,
      extractAnswer,
      metric: setup.metric,
      concurrency: config.concurrency,
      judge: setup.judge,
    },
  };
}

/** Sorted distinct item domains of both splits; the simulated pool spreads its skills over them. */
export function datasetDomains(dataset: Dataset): string[] {
  const domains = new Set<string>();
  for (const item of [...dataset.dev, ...dataset.test]) domains.add(item.domain ?? "");
  return [...domains].sort();
}
