// Abstention (AbstainQA): a second pass requests the system's True/False verdict on its own answer,
// and the answer counts only when the verdict is "true". The utility is effective reliability.

import { foldFullWidth } from "./text";

/**
 * Builds the second-pass question: the original question (with its options), the system's
 * answer, and a request for a True/False verdict.
 */
export function abstainPrompt(question: string, proposedAnswer: string): string {
  return `${question.trim()}\n\nProposed answer: ${proposedAnswer.trim()}\n\nIs the proposed answer true or false? Answer with True or False.`;
}

const TRUE_WORDS = new Set(["true", "yes", "correct", "right", "t"]);
const FALSE_WORDS = new Set(["false", "no", "incorrect", "wrong", "untrue", "f"]);

// "The proposed answer is true", "Answer: False", "it is not correct", "Verdict: true".
const VERDICT_PHRASE_RE =
  /\b(?:answer|verdict|statement|it|this)\s*(?:is|was|:|=)\s*[*_"'`]*\s*(not\s+)?(true|false|correct|incorrect|right|wrong|yes|no|untrue)\b/gi;
const LEADING_WORD_RE = /^[\s*_"'`(\[#>]*(not\s+)?([a-z]+)\b/i;
const OR_AFTER_RE = /\s+or\b/iy;
const OR_BEFORE_RE = /\bor\s+$/i;
const TRUTH_WORD_RE = /\b(not\s+)?(true|false|untrue)\b/gi;

function polarity(word: string, negated: boolean): boolean | null {
  const lower = word.toLowerCase();
  let value: boolean;
  if (TRUE_WORDS.has(lower)) value = true;
  else if (FALSE_WORDS.has(lower)) value = false;
  else return null;
  return negated ? !value : value;
}

/**
 * Parses a True/False verdict. In order of preference: the last verdict phrase ("The answer is
 * true", "it is false", "Answer: not correct"), the first word ("True", "false.", "No, it is
 * false", "Yes"), the last "true"/"false"/"untrue" in the text ("not true" is false). Words in
 * "true or false" are skipped. Returns null when the output gives no verdict.
 */
export function parseTrueFalse(output: string): boolean | null {
  if (!output) return null;
  const text = foldFullWidth(output);

  let stated: boolean | null = null;
  VERDICT_PHRASE_RE.lastIndex = 0;
  for (let match = VERDICT_PHRASE_RE.exec(text); match !== null; match = VERDICT_PHRASE_RE.exec(text)) {
    stated = polarity(match[2], match[1] !== undefined);
  }
  if (stated !== null) return stated;

  const leading = LEADING_WORD_RE.exec(text);
  if (leading !== null) {
    OR_AFTER_RE.lastIndex = leading[0].length;
    const value = polarity(leading[2], leading[1] !== undefined);
    if (value !== null && !OR_AFTER_RE.test(text)) return value;
  }

  let last: boolean | null = null;
  TRUTH_WORD_RE.lastIndex = 0;
  for (let match = TRUTH_WORD_RE.exec(text); match !== null; match = TRUTH_WORD_RE.exec(text)) {
    OR_AFTER_RE.lastIndex = match.index + match[0].length;
    if (OR_AFTER_RE.test(text) || OR_BEFORE_RE.test(text.slice(Math.max(0, match.index - 8), match.index))) continue;
    last = polarity(match[2], match[1] !== undefined);
  }
  return last;
}

/** One item of an abstention evaluation. */
export interface AbstainRecord {
  /** Whether the system's first answer was right. */
  correct: boolean;
  /** Whether the system withheld the answer: its verdict on it was not "true". */
  abstained: boolean;
}

/**
 * Builds the record of one item. The answer counts only on a parsed "true" verdict, so a "false"
 * verdict and an unparsable one both abstain, as in the reference code, where any verdict
 * without "True" abstains. A system cannot turn a wrong answer into a point by garbling its
 * verdict; at worst it loses the point of a right answer.
 */
export function abstainRecord(correct: boolean, verdictOutput: string): AbstainRecord {
  return { correct, abstained: parseTrueFalse(verdictOutput) !== true };
}

/** Scores one item: +1 answered correctly, −1 answered incorrectly, 0 abstained. */
export function reliabilityScore(record: AbstainRecord): number {
  if (record.abstained) return 0;
  return record.correct ? 1 : -1;
}

/**
 * Computes effective reliability: (answered correctly − answered incorrectly) / total, in
 * [−1, 1]. Abstentions count in the total only. Throws on an empty list.
 */
export function effectiveReliability(records: readonly AbstainRecord[]): number {
  if (records.length === 0) throw new RangeError("effective reliability needs at least one record, but got none");
  let sum = 0;
  for (const record of records) sum += reliabilityScore(record);
  return sum / records.length;
}
