// LLM-as-a-judge: a judge model rates an answer against the reference answer from 1 to 10.

import { formatQuestion } from "../prompts";
import type { Item } from "../types";
import { foldFullWidth } from "./text";

export const MIN_JUDGE_SCORE = 1;
export const MAX_JUDGE_SCORE = 10;

/** Builds the prompt that requests a 1-10 rating from a judge model, in the form "Rating: N/10". */
export function judgePrompt(question: string, reference: string, answer: string): string {
  return [
    "You are grading an answer to a question against a reference answer.",
    `Question:\n${question.trim()}`,
    `Reference answer:\n${reference.trim()}`,
    `Answer to grade:\n${answer.trim()}`,
    "Rate how well the answer agrees with the reference answer, from 1 (wrong or unrelated) to 10 " +
      '(correct and complete). Reply with "Rating: N/10" on the first line, where N is a whole ' +
      "number from 1 to 10, then give a short reason.",
  ].join("\n\n");
}

const SCORE = String.raw`([-−]?\d+(?:\.\d+)?)`;
const SCALE = String.raw`(?:\s*(?:\/|out\s+of)\s*(\d+(?:\.\d+)?))?`;

// Tier 1: labelled ratings ("Rating: 7", "**Score**: 8/10", "rating of 6") and "[[8]]".
const LABELLED_RE = new RegExp(String.raw`\b(?:rating|score|grade)s?\b[*_]*\s*(?:of|is|:|=)?[\s*_"'\[(]*${SCORE}${SCALE}`, "gi");
const DOUBLE_BRACKET_RE = new RegExp(String.raw`\[\[\s*${SCORE}\s*\]\]`, "g");
// Tier 2: "7/10", "9 out of 10", "I would give it a 9", "I rate this answer 6".
const OUT_OF_RE = new RegExp(String.raw`(?<![\d.])${SCORE}\s*(?:\/|out\s+of)\s*(\d+(?:\.\d+)?)`, "gi");
const GIVE_RE = new RegExp(
  String.raw`\b(?:give|rate|award|assign)\s+(?:it|this(?:\s+(?:answer|response))?|the\s+(?:answer|response))\s+(?:an?\s+|at\s+)?${SCORE}\b${SCALE}`,
  "gi",
);
// Tier 3: the output is only a number ("8", "**8**.").
const BARE_RE = new RegExp(String.raw`^[\s*_"'\[(]*${SCORE}[\s*_"'\].)]*$`, "g");

interface Rating {
  index: number;
  value: number;
}

/** Returns the last rating the global regex `re` finds after `last`. A rating on another scale ("4/5") is NaN. */
function lastRating(re: RegExp, text: string, last: Rating | null): Rating | null {
  re.lastIndex = 0;
  for (let match = re.exec(text); match !== null; match = re.exec(text)) {
    if (last !== null && match.index < last.index) continue;
    const scale = match[2];
    const value = scale !== undefined && Number(scale) !== MAX_JUDGE_SCORE ? NaN : Number(match[1].replace("−", "-"));
    last = { index: match.index, value };
  }
  return last;
}

/**
 * Parses a judge's 1-10 rating. In order of preference: the last labelled rating ("Rating: 7",
 * "Score: 8/10") or "[[8]]", then the last "7/10", "9 out of 10" or "give it a 9", then an
 * output that is only a number. Decimals ("7.5") are kept. Returns null when there is no
 * rating, or when the final one is outside 1-10 ("11", "0") or on another scale ("4/5").
 */
export function parseJudgeScore(output: string): number | null {
  if (!output) return null;
  const text = foldFullWidth(output);

  let rating = lastRating(DOUBLE_BRACKET_RE, text, lastRating(LABELLED_RE, text, null));
  if (rating === null) rating = lastRating(GIVE_RE, text, lastRating(OUT_OF_RE, text, null));
  if (rating === null) rating = lastRating(BARE_RE, text, null);

  if (rating === null) return null;
  const { value } = rating;
  return value >= MIN_JUDGE_SCORE && value <= MAX_JUDGE_SCORE ? value : null;
}

/** Maps a 1-10 rating to a utility in [0, 1]: (score − 1) / 9, and 0 for no rating. */
export function judgeUtility(score: number | null): number {
  if (score === null) return 0;
  if (!(score >= MIN_JUDGE_SCORE && score <= MAX_JUDGE_SCORE)) {
    throw new RangeError(`judge score must be between ${MIN_JUDGE_SCORE} and ${MAX_JUDGE_SCORE}, but got ${score}`);
  }
  return (score - MIN_JUDGE_SCORE) / (MAX_JUDGE_SCORE - MIN_JUDGE_SCORE);
}

/** Sends the judge prompt of one item and returns the output's utility in [0, 1]. */
export async function scoreWithJudge(judge: (prompt: string) => Promise<string>, item: Item, output: string): Promise<number> {
  const verdict = await judge(judgePrompt(formatQuestion(item), item.answer, output));
  return judgeUtility(parseJudgeScore(verdict));
}
