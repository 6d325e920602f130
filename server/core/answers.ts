import { exactMatch, parseChoice, parseFinalAnswer } from "./metrics";
import type { Item } from "./types";

/**
 * Parses an output to a comparable answer: the chosen key for multiple-choice items, otherwise
 * the final answer with numbers normalised. Majority vote and the simulated pool compare these.
 */
export function extractAnswer(output: string, item: Item): string | null {
  if (item.choices) return parseChoice(output, item.choices);
  const answer = parseFinalAnswer(output);
  return answer === null ? null : answer;
}

/** Whether an extracted answer is the item's gold answer. */
export function answersMatch(answer: string, item: Item): boolean {
  if (item.choices) return answer === item.answer;
  return exactMatch(answer, item.answer);
}
