import { abstainPrompt, judgePrompt, judgeUtility, parseJudgeScore, parseTrueFalse, scoreItem } from "./metrics";
import { formatQuestion } from "./prompts";
import { nodeCallsPerItem, runSystem, type RunContext, type SystemSpec } from "./system";
import type { Item, MetricName } from "./types";

/** Rates an answer against the reference: the judge model's raw output for `judgePrompt`. */
export type Judge = (prompt: string, item: Item, output: string) => Promise<string>;

export interface EvaluationContext extends RunContext {
  metric: MetricName;
  /** Items evaluated at once; results do not depend on it. */
  concurrency: number;
  judge?: Judge;
}

export interface Evaluation {
  /** f: the metric averaged over the items (effective reliability for abstain). */
  utility: number;
  /** Per-item score: 0..1, or −1/0/+1 for abstain (wrong, abstained, right). */
  scores: number[];
  /** Per-item correctness of the system's answer, used by the collaborative-gain analysis. */
  correct: boolean[];
  /** Model calls the reference algorithm would make for this evaluation (no cache). */
  referenceCalls: number;
}

/** Evaluates a system on items, running up to `concurrency` items at once. */
export async function evaluateSystem(spec: SystemSpec, items: readonly Item[], context: EvaluationContext): Promise<Evaluation> {
  if (items.length === 0) throw new Error("cannot evaluate a system on an empty split");

  const scores = new Array<number>(items.length);
  const correct = new Array<boolean>(items.length);
  let referenceCalls = 0;

  await forEachConcurrently(items.length, context.concurrency, async (index) => {
    const item = items[index];
    const run = await runSystem(spec, item, context);
    referenceCalls += nodeCallsPerItem(spec);

    const scored = await scoreOutput(spec, item, run.output, context);
    referenceCalls += scored.extraCalls;
    scores[index] = scored.score;
    correct[index] = scored.correct;
  });

  const utility = scores.reduce((sum, s) => sum + s, 0) / items.length;
  return { utility, scores, correct, referenceCalls };
}

async function scoreOutput(
  spec: SystemSpec,
  item: Item,
  output: string,
  context: EvaluationContext,
): Promise<{ score: number; correct: boolean; extraCalls: number }> {
  switch (context.metric) {
    case "multiple_choice":
    case "exact_match":
    case "exact_match_reference": {
      const score = scoreItem(context.metric, output, item);
      return { score, correct: score > 0, extraCalls: 0 };
    }
    case "abstain":
      return scoreAbstain(spec, item, output, context);
    case "judge":
      return scoreJudge(item, output, context);
  }
}

/**
 * Effective reliability: a second pass asks the same system whether its answer is true.
 * A "True" verdict answers (+1 if right, −1 if wrong); anything else abstains (0).
 */
async function scoreAbstain(spec: SystemSpec, item: Item, output: string, context: EvaluationContext) {
  const answerMetric: MetricName = item.choices ? "multiple_choice" : "exact_match";
  const correct = scoreItem(answerMetric, output, item) > 0;

  // The gold field of the verification item is read only by the simulated pool.
  const verification: Item = {
    question: abstainPrompt(formatQuestion(item), output),
    answer: correct ? "True" : "False",
    domain: item.domain,
  };
  const verdictRun = await runSystem(spec, verification, context);
  const answered = parseTrueFalse(verdictRun.output) === true;

  let score = 0;
  if (answered) score = correct ? 1 : -1;
  return { score, correct, extraCalls: nodeCallsPerItem(spec) };
}

async function scoreJudge(item: Item, output: string, context: EvaluationContext) {
  if (!context.judge) {
    throw new Error('metric "judge" needs a judge model, but none was configured');
  }
  const rating = parseJudgeScore(await context.judge(judgePrompt(formatQuestion(item), item.answer, output), item, output));
  const score = judgeUtility(rating);
  return { score, correct: score >= 0.5, extraCalls: 1 };
}

/** Calls `task(i)` for i in [0, count) with at most `limit` calls in flight. */
export async function forEachConcurrently(count: number, limit: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}
