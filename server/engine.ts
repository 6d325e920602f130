import { answersMatch, extractAnswer } from "./core/answers";
import type { SearchConfig } from "./core/config";
import type { Judge } from "./core/evaluate";
import { DEFAULT_TEMPLATES } from "./core/prompts";
import type { SearchContext } from "./core/search";
import type { Dataset, GenerationSettings, Item, MetricName, PromptTemplates } from "./core/types";
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

/**
 * Makes a judge from a pool model: it rates an output with the model's original weights. The
 * verdict item's gold rating (9 for a correct output, 2 otherwise, by exact match or choice)
 * is read only by the simulated pool.
 */
export function createJudge(cache: GenerationCache, model: number, settings: GenerationSettings): Judge {
  return async (prompt, item, output) => {
    const correct = answersMatchOutput(output, item);
    const verdictItem: Item = { question: prompt, answer: correct ? "9" : "2", domain: item.domain };
    const result = await cache.generate({ model, coefficients: null, prompt, settings, item: verdictItem, previousResponses: [] });
    return result.text;
  };
}

function answersMatchOutput(output: string, item: Item): boolean {
  const answer = extractAnswer(output, item);
  return answer !== null && answersMatch(answer, item);
}

/** Sorted distinct item domains of both splits; the simulated pool spreads its skills over them. */
export function datasetDomains(dataset: Dataset): string[] {
  const domains = new Set<string>();
  for (const item of [...dataset.dev, ...dataset.test]) domains.add(item.domain ?? "");
  return [...domains].sort();
}
