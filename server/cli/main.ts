import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import { resolveConfig, type SearchConfig } from "../core/config";
import { buildResult, type SearchResult } from "../core/result";
import { createSearchState, plannedSteps, searchStep, type SearchState } from "../core/search";
import type { MetricName } from "../core/types";
import { createJudge, createSearchContext, datasetDomains } from "../engine";
import { GenerationCache } from "../llm/cache";
import { loadPool } from "../llm/pools";
import { SIMULATED_PRESETS } from "../llm/simulated";
import { inferMetric } from "../core/dataset";
import { loadDatasetFile } from "../tasks/load";
import { CONFIG_KEYS, configFromFlags, configHelp, describeConfigError, flagOf } from "./options";
import { formatProgress, formatSummary, ProgressClock } from "./report";

const METRICS: MetricName[] = ["multiple_choice", "exact_match", "exact_match_reference", "abstain", "judge"];

const USAGE = `Usage: npm run hswarm -- search --task FILE --pool PRESET|FILE [options]

Searches a multi-LLM system for a task by Heterogeneous Swarms: the dev split is searched on,
the test split is reported.

  --task FILE             dataset: the paper's JSON ({dev, test}), JSONL or CSV
  --pool PRESET|FILE      simulated preset (${Object.keys(SIMULATED_PRESETS).join(", ")}) or a pool JSON file
  --metric NAME           ${METRICS.join(", ")} (default: multiple_choice when items have choices, else exact_match)
  --judge-model NAME      pool model that rates answers for --metric judge
  --json FILE             write the result as JSON (no timings, so the same seed writes the same bytes)
  --save-state FILE       write the search state after every step, for --resume
  --resume FILE           continue a search from a state written by --save-state
  --quiet                 print the summary only
  --help                  show this help

Hyperparameters (defaults follow the paper's reference code):
${configHelp()}
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "help") {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== "search") {
    process.stderr.write(`unknown command "${command}"; the only command is "search"\n\n${USAGE}`);
    return 2;
  }
  return search(rest);
}

async function search(argv: string[]): Promise<number> {
  const configOptions = Object.fromEntries(CONFIG_KEYS.map((key) => [flagOf(key), { type: "string" as const }]));
  const { values } = parseArgs({
    args: joinNegativeValues(argv),
    strict: true,
    options: {
      ...configOptions,
      task: { type: "string" },
      pool: { type: "string" },
      metric: { type: "string" },
      json: { type: "string" },
      "judge-model": { type: "string" },
      "save-state": { type: "string" },
      resume: { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.task) throw new UsageError("--task is required: a dataset file (.json, .jsonl or .csv)");
  if (!values.pool) throw new UsageError(`--pool is required: a preset (${Object.keys(SIMULATED_PRESETS).join(", ")}) or a pool JSON file`);
  if (values.metric !== undefined && !METRICS.includes(values.metric as MetricName)) {
    throw new UsageError(`--metric must be one of ${METRICS.join(", ")}, but got "${values.metric}"`);
  }

  const dataset = loadDatasetFile(values.task);
  const metric = (values.metric as MetricName | undefined) ?? inferMetric(dataset);
  const pool = loadPoolOrExplain(values.pool, datasetDomains(dataset));

  let state: SearchState;
  if (values.resume) {
    state = JSON.parse(readFileSync(values.resume, "utf8")) as SearchState;
    if (state.version !== 1) throw new UsageError(`--resume ${values.resume}: unsupported state version ${String(state.version)}`);
  } else {
    state = createSearchState(resolveConfigFromFlags(values), pool.info);
  }
  const config = state.config;

  const cache = new GenerationCache(pool.backend);
  const judge = resolveJudge(values["judge-model"], metric, pool.info.names, cache, config);
  const context = createSearchContext({ dataset, metric, pool, config, judge }, cache);
  const clock = new ProgressClock(plannedSteps(config), state.stepIndex);

  if (!values.quiet) {
    process.stdout.write(
      `HSwarm ${config.method}: task ${dataset.name} (${context.dev.length} dev, ${context.test.length} test, ${metric}), ` +
        `${pool.label}, seed ${config.seed}\n`,
    );
  }

  const saveState = values["save-state"];
  let interrupted = false;
  process.once("SIGINT", () => {
    interrupted = true;
    process.stderr.write("\nhswarm: interrupted; stopping after the current step\n");
  });

  let current = state;
  while (current.next !== "done") {
    const { state: next, record } = await searchStep(current, context);
    current = next;
    if (saveState) writeAtomically(saveState, JSON.stringify(current));
    if (!values.quiet) process.stdout.write(formatProgress(record, clock.tick(), context.dev.length) + "\n");
    // A zero-latency backend resolves every call as a microtask, which starves the event loop.
    // Yielding once per step lets a pending SIGINT handler run.
    await new Promise((resolve) => setImmediate(resolve));
    if (interrupted) {
      const hint = saveState ? `resume with --resume ${saveState}` : "pass --save-state FILE to be able to resume";
      process.stderr.write(`hswarm: stopped after step ${current.stepIndex} of ${clock.planned}; ${hint}\n`);
      return 130;
    }
  }
  const final = current;

  const result: SearchResult = buildResult(final, pool.info, { name: dataset.name, metric });
  process.stdout.write(formatSummary(result, clock.elapsedSeconds()) + "\n");
  if (values.json) writeAtomically(values.json, JSON.stringify(result, null, 2) + "\n");
  return 0;
}

/**
 * Rewrites "--flag -1" as "--flag=-1": node's parseArgs reads a value that starts with "-" as
 * another option, which would make negative numbers unusable as flag values.
 */
function joinNegativeValues(argv: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i].startsWith("--") && !argv[i].includes("=") && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${argv[i]}=${next}`);
      i += 1;
    } else {
      joined.push(argv[i]);
    }
  }
  return joined;
}

function resolveConfigFromFlags(values: Record<string, string | boolean | undefined>) {
  try {
    return resolveConfig(configFromFlags(values));
  } catch (error) {
    if (error instanceof z.ZodError) throw new UsageError(describeConfigError(error));
    throw new UsageError((error as Error).message);
  }
}

function resolveJudge(name: string | undefined, metric: MetricName, names: string[], cache: GenerationCache, config: SearchConfig) {
  if (name === undefined) {
    if (metric === "judge") throw new UsageError(`--metric judge needs --judge-model, one of: ${names.join(", ")}`);
    return undefined;
  }
  const model = names.indexOf(name);
  if (model < 0) throw new UsageError(`--judge-model "${name}" is not in the pool; choose one of: ${names.join(", ")}`);
  return createJudge(cache, model, { temperature: 0, maxTokens: config.maxTokens, topP: 1 });
}

function loadPoolOrExplain(nameOrPath: string, domains: string[]) {
  try {
    return loadPool(nameOrPath, domains);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Writes to a temporary file first, so that a crash never leaves a half-written file behind. */
function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`hswarm: ${message}\n`);
    const usage = error instanceof UsageError || String((error as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS");
    if (usage) process.stderr.write(`Run "npm run hswarm -- search --help" for the options.\n`);
    process.exit(usage ? 2 : 1);
  },
);
