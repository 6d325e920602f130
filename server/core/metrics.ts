// Task metrics: pure functions from a system's output (and, for abstain and judge, a second
// model call made by the caller) to a per-item score. The parsers live in ./metrics/.

import { parseChoice } from "./metrics/choice";
import { exactMatch, exactMatchReference } from "./metrics/exact";
import type { Item, MetricName } from "./types";

export { parseChoice } from "./metrics/choice";
export {
  exactMatch,
  exactMatchReference,
  normaliseNumber,
  parseFinalAnswer,
  parseFinalNumber,
  type ReferenceMatchOptions,
} from "./metrics/exact";
export {
  abstainPrompt,
  abstainRecord,
  effectiveReliability,
  parseTrueFalse,
  reliabilityScore,
  type AbstainRecord,
} from "./metrics/abstain";
export { judgePrompt, judgeUtility, MAX_JUDGE_SCORE, MIN_JUDGE_SCORE, parseJudgeScore, scoreWithJudge } from "./metrics/judge";

export interface ScoreOptions {
  /**
   * For exact_match_reference: keep only the last n words of the output before the substring
   * test. The reference code uses 5 for GSM8K and the whole output elsewhere.
   */
  referenceLastWords?: number;
}

/**
 * Scores one output: 1 or 0 for multiple_choice (the parsed key equals the gold key),
 * exact_match and exact_match_reference. Throws for abstain and judge, which need a second
 * model call: use `abstainPrompt` with `abstainRecord`, or `scoreWithJudge`.
 */
export function scoreItem(metric: MetricName, output: string, item: Item, options: ScoreOptions = {}): number {
  switch (metric) {
    case "multiple_choice":
      if (!item.choices) {
        throw new Error(`metric "multiple_choice" needs an item with choices, but item ${describeItem(item)} has none`);
      }
      return parseChoice(output, item.choices) === item.answer ? 1 : 0;
    case "exact_match":
      return exactMatch(output, item.answer) ? 1 : 0;
    case "exact_match_reference":
      return exactMatchReference(output, item.answer, { lastWords: options.referenceLastWords }) ? 1 : 0;
    case "abstain":
      throw new Error('metric "abstain" needs a second pass of the system; use abstainPrompt and abstainRecord, not scoreItem');
    case "judge":
      throw new Error('metric "judge" needs a judge model call; use scoreWithJudge, not scoreItem');
    default:
      throw new Error(`unknown metric "${String(metric satisfies never)}"`);
  }
}

function describeItem(item: Item): string {
  if (item.id !== undefined) return `with id ${JSON.stringify(item.id)}`;
  return JSON.stringify(item.question.slice(0, 60));
}
