// Exact match: the final answer of an output against a gold answer, and the substring rule of
// the Heterogeneous Swarms reference code (github.com/BunsenFeng/heterogeneous_swarm, evaluate.py).

import { findAnswerMarkers, foldFullWidth, isDigitAt, isWordCharAt, lowerSameLength, textBeforeContinuation, type AnswerMarker } from "./text";

// "1,600" only when every group after the first has three digits, so "3,4,5" stays three numbers.
const NUMBER_RE = /[-−]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?/g;
const WHOLE_NUMBER_RE =
  /^[\s*_"'`(\[]*(?:(?:usd|us\$|eur|gbp|inr|rs\.?)\s*)?[$€£¥₹]?\s*([-−]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|[-−]?\.\d+)(?:\s*\/\s*(\d+(?:\.\d+)?))?(\D*)$/i;
const BOXED_WHOLE_RE = /^\\boxed\s*\{([\s\S]*)\}$/;

const LATEX_TEST_RE = /[\\{]/;
const LATEX_FRACTION_RE = /\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g;
const LATEX_TEXT_RE = /\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{([^{}]*)\}/g;
const LATEX_GROUPED_COMMA_RE = /\{,\}/g;
const LATEX_THIN_SPACE_RE = /\\[,!;: ]/g;
const LATEX_ESCAPED_SYMBOL_RE = /\\([$%])/g;

/** Rewrites the LaTeX that wraps numbers: \frac{a}{b} → a/b, 1{,}600 → 1,600, \$ → $, \text{x} → x. */
function simplifyLatex(text: string): string {
  if (!LATEX_TEST_RE.test(text)) return text;
  return text
    .replace(LATEX_FRACTION_RE, "$1/$2")
    .replace(LATEX_TEXT_RE, "$1")
    .replace(LATEX_GROUPED_COMMA_RE, ",")
    .replace(LATEX_THIN_SPACE_RE, "")
    .replace(LATEX_ESCAPED_SYMBOL_RE, "$1");
}

function parseNumberToken(token: string): number {
  return Number(token.replace(/,/g, "").replace("−", "-"));
}

function formatNumber(value: number): string {
  return Object.is(value, -0) ? "0" : String(value);
}

/** Equal up to floating-point noise, so that 1/3 written two ways still matches. */
function sameNumber(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/** Parses a string that is one number, with optional currency, unit, "%" or LaTeX around it. */
function numberValue(text: string): number | null {
  let source = simplifyLatex(foldFullWidth(text).trim());
  const boxed = BOXED_WHOLE_RE.exec(source);
  if (boxed) source = simplifyLatex(boxed[1].trim());

  const match = WHOLE_NUMBER_RE.exec(source);
  if (match === null) return null;
  const value = parseNumberToken(match[1]);
  if (match[2] === undefined) return value;

  const denominator = Number(match[2]);
  return denominator === 0 ? null : value / denominator;
}

/**
 * Normalises a string that is one number: thousands separators ("1,600"), currency ("$5",
 * "USD 5"), units and "%" after it ("15 apples", "15 km"), trailing zeros ("15.0"), LaTeX
 * ("\boxed{1{,}600}", "\frac{1}{2}") and plain fractions ("1/2"). Returns the canonical decimal
 * ("1600", "-3", "18.5", "0.5"), or null when the string is not one number ("Yes", "3 and 4").
 */
export function normaliseNumber(text: string): string | null {
  const value = numberValue(text);
  return value === null ? null : formatNumber(value);
}

// ---------------------------------------------------------------------------------------------
// Finding the final answer.

const SPAN_START_RE = /[\s*_:]*/y;
const MAX_SPAN_LENGTH = 300;

/**
 * The text an answer phrase introduces: inside the braces of \boxed{…}, otherwise up to the end
 * of the sentence or clause (a newline, ". ", ", ", ";", "!" or "?"), but never through a
 * decimal point or a thousands separator.
 */
function answerSpan(text: string, markerEnd: number, boxed: boolean): string {
  const limit = Math.min(text.length, markerEnd + MAX_SPAN_LENGTH);
  if (boxed) {
    let depth = 1;
    for (let i = markerEnd; i < limit; i++) {
      if (text[i] === "{") depth++;
      else if (text[i] === "}" && --depth === 0) return text.slice(markerEnd, i);
    }
    return text.slice(markerEnd, limit);
  }

  SPAN_START_RE.lastIndex = markerEnd;
  SPAN_START_RE.test(text);
  const start = SPAN_START_RE.lastIndex;
  let end = start;
  for (; end < limit; end++) {
    const char = text[end];
    if (char === "\n" || char === ";" || char === "!" || char === "?") break;
    if (char === "." && !isDigitAt(text, end + 1)) break;
    if (char === "," && (end + 1 >= text.length || text[end + 1] === " ")) break;
  }
  return text.slice(start, end);
}

function spanOf(text: string, marker: AnswerMarker): string {
  return answerSpan(text, marker.end, marker.boxed);
}

/** Returns the value of a number match. A minus glued to a word ("x-3", "10-3") is an operator, not a sign. */
function numberAt(text: string, match: RegExpExecArray): number {
  const value = parseNumberToken(match[0]);
  return value < 0 && isWordCharAt(text, match.index - 1) ? -value : value;
}

const OPERATOR_AFTER_RE = /\s*(?:[-+−*×÷·^=\/]|x\s*(?=\d))/y;
const FRACTION_AFTER_RE = /\s*\/\s*(\d+(?:\.\d+)?)(?![\d.])/y;

const UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
  "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"];
const TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const NUMBER_WORD_RE = /^[\s*_"'`]*(?:(twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[-\s]+(one|two|three|four|five|six|seven|eight|nine))?|(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen))\b(?!\s+of\b)/i;

/** Parses a number word opening an answer span ("twelve", "Forty-two"), 0 to 99. */
function numberWordValue(span: string): number | null {
  const match = NUMBER_WORD_RE.exec(span);
  if (match === null) return null;
  if (match[3] !== undefined) return UNITS.indexOf(match[3].toLowerCase());
  const units = match[2] === undefined ? 0 : UNITS.indexOf(match[2].toLowerCase());
  return TENS.indexOf(match[1].toLowerCase()) * 10 + units;
}

/**
 * Parses the number an answer span gives: the first number ("15 apples"), a fraction ("3/4"), the
 * result of an expression ("5 + 10 = 15" gives 15, the first number after the last "="), or a
 * number word opening the span ("twelve").
 */
function spanNumber(span: string): number | null {
  const text = simplifyLatex(span);
  NUMBER_RE.lastIndex = 0;
  const first = NUMBER_RE.exec(text);
  if (first === null) return numberWordValue(text);
  const after = first.index + first[0].length;

  OPERATOR_AFTER_RE.lastIndex = after;
  const lastEquals = text.lastIndexOf("=");
  if (lastEquals >= after && OPERATOR_AFTER_RE.test(text)) {
    NUMBER_RE.lastIndex = lastEquals + 1;
    const result = NUMBER_RE.exec(text);
    if (result !== null) return numberAt(text, result);
  }

  FRACTION_AFTER_RE.lastIndex = after;
  const fraction = FRACTION_AFTER_RE.exec(text);
  if (fraction !== null && Number(fraction[1]) !== 0) return numberAt(text, first) / Number(fraction[1]);
  return numberAt(text, first);
}

function lastNumber(source: string): number | null {
  const text = simplifyLatex(source);
  let last: RegExpExecArray | null = null;
  NUMBER_RE.lastIndex = 0;
  for (let match = NUMBER_RE.exec(text); match !== null; match = NUMBER_RE.exec(text)) last = match;
  return last === null ? null : numberAt(text, last);
}

/** Returns the number of the last answer phrase that gives one, else the last number in the text. */
function finalNumberIn(text: string): number | null {
  const markers = findAnswerMarkers(lowerSameLength(text), "exact");
  for (let i = markers.length - 1; i >= 0; i--) {
    const value = spanNumber(spanOf(text, markers[i]));
    if (value !== null) return value;
  }
  return lastNumber(text);
}

/** Returns the text of the last answer phrase that has any, normalised by `normaliseAnswerText`. */
function lastAnswerText(text: string, markers: AnswerMarker[]): string | null {
  for (let i = markers.length - 1; i >= 0; i--) {
    const cleaned = normaliseAnswerText(spanOf(text, markers[i]));
    if (cleaned !== "") return cleaned;
  }
  return null;
}

/** Applies `read` to the text ahead of a few-shot continuation, then to the whole text. */
function readFinal<T>(output: string, read: (text: string) => T | null): T | null {
  if (!output) return null;
  const text = foldFullWidth(output);
  const head = textBeforeContinuation(text);
  if (head !== null) {
    const value = read(head);
    if (value !== null) return value;
  }
  return read(text);
}

/**
 * Parses the final number of an output as a canonical decimal string: the number after the last
 * answer phrase ("The answer is $1,600.", "Answer: 15 apples", "\boxed{18}", "#### 42") that has
 * one, otherwise the last number in the text. Returns null when the text has no number.
 * NOTE: an output cut off mid-reasoning still yields its last intermediate number.
 */
export function parseFinalNumber(output: string): string | null {
  const value = readFinal(output, finalNumberIn);
  return value === null ? null : formatNumber(value);
}

const DECORATION_RE = /\\[a-z]+\s*\{|[*_`"“”‘’${}[\]()\\]/g;
const SPACES_RE = /\s+/g;
const EDGE_PUNCTUATION_RE = /^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu;
const WORD_RE = /[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu;

/** Lower-cases, drops markdown and LaTeX decoration, collapses spaces and trims punctuation. */
function normaliseAnswerText(text: string): string {
  return text.toLowerCase().replace(DECORATION_RE, " ").replace(SPACES_RE, " ").replace(EDGE_PUNCTUATION_RE, "");
}

function finalAnswerIn(text: string): string | null {
  const markers = findAnswerMarkers(lowerSameLength(text), "exact");
  for (let i = markers.length - 1; i >= 0; i--) {
    const spanValue = spanNumber(spanOf(text, markers[i]));
    if (spanValue !== null) return formatNumber(spanValue);
  }
  const stated = lastAnswerText(text, markers);
  if (stated !== null) return stated;

  const value = lastNumber(text);
  if (value !== null) return formatNumber(value);

  let word: string | null = null;
  WORD_RE.lastIndex = 0;
  for (let match = WORD_RE.exec(text); match !== null; match = WORD_RE.exec(text)) word = match[0];
  return word === null ? null : word.toLowerCase();
}

/**
 * Parses the final answer of an output. In order of preference: the number of the last answer
 * phrase that has one (canonical, as `normaliseNumber` gives it), the text of the last answer
 * phrase (lower-cased, decoration and edge punctuation removed), the last number, the last word.
 * Returns null for an empty output.
 */
export function parseFinalAnswer(output: string): string | null {
  return readFinal(output, finalAnswerIn);
}

// ---------------------------------------------------------------------------------------------
// Comparing with the gold answer.

const POLAR_RIVALS = new Map([
  ["yes", "no"],
  ["no", "yes"],
  ["true", "false"],
  ["false", "true"],
]);
const POLAR_WORD_RE = /\b(yes|no|true|false)\b/g;
const FIRST_WORD_RE = /^[^\p{L}\p{N}]*(\p{L}+)/u;
const OR_AFTER_RE = /\s+or\b/y;
const OR_BEFORE_RE = /\bor\s+$/;
const NOT_BEFORE_RE = /\bnot\s+$/;

/**
 * Returns the polar word (gold or its rival) an output commits to: its first word when that is one
 * ("No, there is no path"), else the last one ("… so there is no path"). "not true" counts as
 * false, and words in "yes or no" are skipped.
 */
function polarAnswer(lower: string, gold: string, rival: string): string | null {
  const first = FIRST_WORD_RE.exec(lower);
  if (first !== null && (first[1] === gold || first[1] === rival)) {
    OR_AFTER_RE.lastIndex = first.index + first[0].length;
    if (!OR_AFTER_RE.test(lower)) return first[1];
  }

  let answer: string | null = null;
  POLAR_WORD_RE.lastIndex = 0;
  for (let match = POLAR_WORD_RE.exec(lower); match !== null; match = POLAR_WORD_RE.exec(lower)) {
    const word = match[1];
    if (word !== gold && word !== rival) continue;
    OR_AFTER_RE.lastIndex = match.index + word.length;
    const before = lower.slice(Math.max(0, match.index - 8), match.index);
    if (OR_AFTER_RE.test(lower) || OR_BEFORE_RE.test(before)) continue;
    if (!NOT_BEFORE_RE.test(before)) answer = word;
    else if (word === gold) answer = rival;
    else answer = gold;
  }
  return answer;
}

function startsWithPhrase(text: string, phrase: string): boolean {
  return text.startsWith(phrase) && !isWordCharAt(text, phrase.length);
}

function endsWithPhrase(text: string, phrase: string): boolean {
  return text.endsWith(phrase) && !isWordCharAt(text, text.length - phrase.length - 1);
}

/** Returns whether the final answer of `text` is the non-numeric `gold`, or null when it gives no answer. */
function textAnswerIn(text: string, gold: string): boolean | null {
  const rival = POLAR_RIVALS.get(gold);

  const lastSpan = lastAnswerText(text, findAnswerMarkers(lowerSameLength(text), "exact"));
  if (lastSpan !== null) {
    const polar = rival === undefined ? null : polarAnswer(lastSpan, gold, rival);
    return polar !== null ? polar === gold : startsWithPhrase(lastSpan, gold);
  }

  if (rival !== undefined) {
    const polar = polarAnswer(text.toLowerCase(), gold, rival);
    return polar === null ? null : polar === gold;
  }

  const whole = normaliseAnswerText(text);
  if (whole === "") return null;
  return startsWithPhrase(whole, gold) || endsWithPhrase(whole, gold);
}

const NUMBER_CACHE_LIMIT = 4096;
const goldNumberCache = new Map<string, number | null>();

/** Gold answers repeat across millions of calls, so their parsed values are cached. */
function goldNumber(gold: string): number | null {
  let value = goldNumberCache.get(gold);
  if (value === undefined) {
    value = numberValue(gold);
    if (goldNumberCache.size >= NUMBER_CACHE_LIMIT) goldNumberCache.clear();
    goldNumberCache.set(gold, value);
  }
  return value;
}

/**
 * Returns whether the final answer of `output` equals `gold`.
 *
 * A numeric gold ("150", "1,600", "-3") is compared by value with `parseFinalNumber`, so "15"
 * does not match "150", "3" not "-3" and "18" not "18.5", while "$1,600.00" matches "1600".
 * Any other gold is compared case-insensitively without decoration or edge punctuation: with
 * the text of the last answer phrase when there is one, otherwise with the start or end of the
 * output. Polar golds (yes/no, true/false) take the polar word the output commits to, so
 * "No, there is no path between node 3 and node 5" matches "No" and not "Yes".
 */
export function exactMatch(output: string, gold: string): boolean {
  const goldValue = goldNumber(gold);
  if (goldValue !== null) {
    const value = readFinal(output, finalNumberIn);
    return value !== null && sameNumber(value, goldValue);
  }

  const goldText = normaliseAnswerText(foldFullWidth(gold));
  if (goldText === "") return false;
  return readFinal(output, (text) => textAnswerIn(text, goldText)) === true;
}

export interface ReferenceMatchOptions {
  /**
   * Keep only the last n space-separated words of the output before the substring test, as the
   * reference code does for GSM8K (n = 5), after flattening newlines to spaces.
   */
  lastWords?: number;
}

/**
 * Applies the substring rule of the Heterogeneous Swarms reference code (evaluate.py), kept naive on
 * purpose so that results stay comparable with the published numbers. The output is correct when
 * the gold string occurs anywhere in it, case-sensitive.
 * It accepts "150" for gold "15", "-3" for gold "3", and any output containing "Node" for gold
 * "No"; use `exactMatch` for a sound comparison.
 */
export function exactMatchReference(output: string, gold: string, options: ReferenceMatchOptions = {}): boolean {
  const { lastWords } = options;
  if (lastWords === undefined) return output.includes(gold);
  if (!Number.isInteger(lastWords) || lastWords < 1) {
    throw new RangeError(`lastWords must be a positive integer, but got ${lastWords}`);
  }
  return output.replace(/\n/g, " ").split(" ").slice(-lastWords).join(" ").includes(gold);
}
