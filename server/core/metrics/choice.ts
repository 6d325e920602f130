// Multiple choice: which of the item's keys a free-text output chose.

import {
  findAnswerMarkers,
  foldFullWidth,
  isDigitAt,
  isLetterAt,
  isLowerAsciiAt,
  isNegatedAfter,
  isNegatedBefore,
  isWordCharAt,
  lowerSameLength,
  textBeforeContinuation,
} from "./text";

interface OptionText {
  key: string;
  /** Lower-cased option text without surrounding spaces or trailing ".,;". */
  text: string;
  numeric: boolean;
}

/** Lookup tables built once per `choices` object. */
interface ChoiceIndex {
  /** Single-character keys by the char code of their upper-case form. */
  singleKeys: Map<number, string>;
  /** Keys longer than one character, upper-cased, longest first. */
  longKeys: { key: string; upper: string }[];
  /** Longest first, so that "Paris, Texas" is tried before "Paris". */
  options: OptionText[];
  empty: boolean;
}

// NOTE: the index is cached per `choices` object, so a choices object must not be mutated after
// it has been scored once. Dataset items are loaded once and never change.
const indexCache = new WeakMap<Record<string, string>, ChoiceIndex>();

function choiceIndex(choices: Record<string, string>): ChoiceIndex {
  const cached = indexCache.get(choices);
  if (cached) return cached;

  const singleKeys = new Map<number, string>();
  const longKeys: { key: string; upper: string }[] = [];
  const options: OptionText[] = [];
  for (const [key, value] of Object.entries(choices)) {
    const upper = foldFullWidth(key).trim().toUpperCase();
    if (upper.length === 1) singleKeys.set(upper.charCodeAt(0), key);
    else if (upper.length > 1) longKeys.push({ key, upper });

    const text = lowerSameLength(foldFullWidth(String(value)).trim()).replace(TRAILING_PUNCTUATION_RE, "");
    if (text !== "") options.push({ key, text, numeric: isDigitAt(text, 0) || isDigitAt(text, 1) });
  }
  longKeys.sort((a, b) => b.upper.length - a.upper.length);
  options.sort((a, b) => b.text.length - a.text.length);

  const index = { singleKeys, longKeys, options, empty: singleKeys.size + longKeys.length === 0 };
  indexCache.set(choices, index);
  return index;
}

const TRAILING_PUNCTUATION_RE = /[\s.,;]+$/;

/** The output being parsed, with a same-length lower-cased copy made on first use. */
class Scan {
  private lowerText: string | undefined;

  constructor(readonly text: string) {}

  get lower(): string {
    if (this.lowerText === undefined) this.lowerText = lowerSameLength(this.text);
    return this.lowerText;
  }
}

interface Found {
  key: string;
  start: number;
  end: number;
}

/** A lone letter after an answer phrase that is none of the item's keys ("The answer is E" for A-D). */
const INVALID = Symbol("invalid choice");
type Verdict = Found | typeof INVALID | null;

/**
 * Parses the key an output chose, or returns null when it chose none of `choices`.
 *
 * Keys are those of `choices` (A-D, A-J or any other strings), matched case-insensitively, and
 * full-width forms ("Ｂ") count as ASCII. Evidence is read in three tiers, and the first tier
 * with any evidence decides:
 * 1. answer phrases ("The answer is B", "Answer: (C)", "\boxed{D}", "答案是A"): the last one
 *    that is followed by a key or an option text wins, so "not B, the answer is D" gives D.
 *    A lone other letter there ("The answer is E" for A-D) makes the result null.
 * 2. "I choose B", "B is correct", "Paris is the right answer": the last one wins.
 * 3. a key at the start ("B. Paris …") or end ("… so C."), or decorated anywhere ("(B)",
 *    "**B**", "option B"): the last one that is not negated ("B is wrong") wins. Without any,
 *    the option text mentioned last wins ("I think it is Paris").
 *
 * "A" and "I" followed by a lower-case word ("A good answer is B", "I think …") are read as
 * English words, not keys. Keys and option texts must stand alone: "B" is not read in
 * "Because", option "no" not in "cannot", option "0" not in "30" or "0.5". A few-shot
 * continuation ("…\nQuestion: …") is ignored unless the text ahead of it has no answer.
 */
export function parseChoice(output: string, choices: Record<string, string>): string | null {
  if (!output) return null;
  const index = choiceIndex(choices);
  if (index.empty) return null;

  const text = foldFullWidth(output);
  const head = textBeforeContinuation(text);
  if (head !== null) {
    const verdict = parseChoiceIn(new Scan(head), index);
    if (verdict !== null) return verdict === INVALID ? null : verdict.key;
  }

  const verdict = parseChoiceIn(new Scan(text), index);
  return verdict === null || verdict === INVALID ? null : verdict.key;
}

function parseChoiceIn(scan: Scan, index: ChoiceIndex): Verdict {
  const stated = findLastAnswerPhraseChoice(scan, index);
  if (stated !== null) return stated;

  const preferred = findLastPreference(scan, index);
  if (preferred !== null) return preferred;

  return findLastMention(scan, index);
}

// ---------------------------------------------------------------------------------------------
// Tier 1: answer phrases.

/** Finds the choice after the last answer phrase that is followed by one, trying phrases last first. */
function findLastAnswerPhraseChoice(scan: Scan, index: ChoiceIndex): Verdict {
  const markers = findAnswerMarkers(scan.lower, "choice");
  for (let i = markers.length - 1; i >= 0; i--) {
    const verdict = readChoiceAt(scan, markers[i].end, index, true);
    if (verdict !== null) return verdict;
  }
  return null;
}

// Text allowed between an answer phrase or a verb and the key: spaces, quotes, brackets, bold,
// LaTeX openers ("\text{", "\(") and filler words ("The answer is therefore option (B)").
const FILLER_RE =
  /(?:[\s*_"'`“”‘’<>:=$#(\[{]+|\\[a-zA-Z]+\s*\{|\\[(\[]|(?:option|choice|letter|therefore|thus|hence|clearly|definitely|probably|likely|most|indeed|then|so|obviously|simply|the|just|actually)\b)+/iy;
const SPACE_RE = /[\s:]+/y;

function skip(re: RegExp, text: string, position: number): number {
  re.lastIndex = position;
  return re.test(text) ? re.lastIndex : position;
}

/**
 * Reads the key or option text that starts at `position`, after filler. The longer match wins,
 * so option "I and II" beats key "I", and key "A" beats option text "A".
 */
function readChoiceAt(scan: Scan, position: number, index: ChoiceIndex, flagOtherLetters: boolean): Verdict {
  const text = scan.text;
  const plain = skip(SPACE_RE, text, position);
  const start = skip(FILLER_RE, text, plain);

  const key = matchKeyAt(text, start, index);
  let option = matchOptionAt(scan, plain, index);
  if (option === null && start !== plain) option = matchOptionAt(scan, start, index);
  if (option !== null && (key === null || option.end > key.end)) return option;
  if (key !== null) return key;

  if (flagOtherLetters && isLetterAt(text, start) && !isWordCharAt(text, start - 1)) {
    const code = text.charCodeAt(start) | 32;
    if (isKeyBoundaryAfter(text, start + 1, code === 97 || code === 105)) return INVALID;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Tier 2: "I choose B", "B is correct".

const CHOOSE_RE = /\b(?:choose|chose|choosing|pick|picked|select|selected|go\s+with|going\s+with|opt\s+for)\b/gi;
// "… is correct", "… would be the best", "… is the answer". The choice ends before the copula.
const APPROVAL_RE =
  /\b(?:is|was|be)\s+(?:the\s+)?(?:most\s+)?(?:correct|right|best|true|accurate|(?:final\s+)?answer)\b(?!\s*\?)/gi;

function findLastPreference(scan: Scan, index: ChoiceIndex): Found | null {
  const text = scan.text;
  let last: Found | null = null;

  CHOOSE_RE.lastIndex = 0;
  for (let match = CHOOSE_RE.exec(text); match !== null; match = CHOOSE_RE.exec(text)) {
    if (isNegatedBefore(text, match.index)) continue;
    const verdict = readChoiceAt(scan, CHOOSE_RE.lastIndex, index, false);
    if (verdict !== null && verdict !== INVALID && (last === null || verdict.start > last.start)) last = verdict;
  }

  APPROVAL_RE.lastIndex = 0;
  for (let match = APPROVAL_RE.exec(text); match !== null; match = APPROVAL_RE.exec(text)) {
    const found = matchChoiceEndingAt(scan, choiceEndBefore(text, match.index), index);
    if (found !== null && (last === null || found.start > last.start)) last = found;
  }
  return last;
}

const MODAL_BEFORE_RE = /\s+(?:would|seems\s+to|appears\s+to)\s*$/;
const CLOSING_BEFORE = new Set([..." \t)]*\"'`"]);

/** Returns where a choice ends ahead of the copula at `copula`: after "(B" in "(B) would be correct". */
function choiceEndBefore(text: string, copula: number): number {
  let end = copula;
  const modal = MODAL_BEFORE_RE.exec(text.slice(Math.max(0, end - 16), end));
  if (modal !== null) end -= modal[0].length;
  while (end > 0 && CLOSING_BEFORE.has(text[end - 1])) end--;
  return end;
}

/** Finds the key or option text that ends at `end` ("B" in "(B) is correct", "Paris" in "Paris is right"). */
function matchChoiceEndingAt(scan: Scan, end: number, index: ChoiceIndex): Found | null {
  const text = scan.text;
  for (const { key, upper } of index.longKeys) {
    const start = end - upper.length;
    if (start >= 0 && isStandaloneStart(text, start) && text.slice(start, end).toUpperCase() === upper) return { key, start, end };
  }

  const key = end > 0 ? index.singleKeys.get(upperCodeAt(text, end - 1)) : undefined;
  if (key !== undefined && isStandaloneStart(text, end - 1)) return { key, start: end - 1, end };

  const lower = scan.lower;
  for (const option of index.options) {
    const start = end - option.text.length;
    if (start >= 0 && lower.startsWith(option.text, start) && isOptionBoundaryBefore(lower, start, option)) {
      return { key: option.key, start, end };
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Tier 3: bare and decorated mentions, then option texts.

// Decorated keys: "(B)", "[B]", "**B**" or "**B.**", "option B", and "B." or "B)" opening a line.
// Each form is found with indexOf and matched with a sticky regex at that spot.
const PARENTHESISED_RE = /\(\s*([\p{L}\p{N}]{1,6})\s*\)/uy;
const BRACKETED_RE = /\[\s*([\p{L}\p{N}]{1,6})\s*\]/uy;
const BOLD_RE = /\*\*\s*([\p{L}\p{N}]{1,6})\s*[.):]?\s*\*\*/uy;
const NAMED_RE = /(?:option|choice|letter)\s+[(\[]?([\p{L}\p{N}]{1,6})\b/iuy;
const LINE_START_RE = /[ \t>*#-]*([\p{L}\p{N}]{1,6})[.):](?!\S)/uy;
const DECORATED_FORMS: { needle: string; re: RegExp; wordStart: boolean }[] = [
  { needle: "(", re: PARENTHESISED_RE, wordStart: false },
  { needle: "[", re: BRACKETED_RE, wordStart: false },
  { needle: "**", re: BOLD_RE, wordStart: false },
  { needle: "option", re: NAMED_RE, wordStart: true },
  { needle: "choice", re: NAMED_RE, wordStart: true },
  { needle: "letter", re: NAMED_RE, wordStart: true },
];

/** Calls `found` with every decorated key mention, in no particular order. */
function forEachDecoratedKey(scan: Scan, index: ChoiceIndex, found: (mention: Found) => void): void {
  const text = scan.text;
  const report = (re: RegExp, at: number) => {
    re.lastIndex = at;
    const match = re.exec(text);
    if (match === null) return;
    const key = lookupKey(match[1], index);
    if (key === undefined) return;
    const start = re.lastIndex - match[0].length + match[0].lastIndexOf(match[1]);
    found({ key, start, end: start + match[1].length });
  };

  for (const { needle, re, wordStart } of DECORATED_FORMS) {
    const haystack = wordStart ? scan.lower : text;
    for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + needle.length)) {
      if (!wordStart || !isWordCharAt(haystack, at - 1)) report(re, at);
    }
  }

  for (let at = 0; at >= 0 && at < text.length; at = text.indexOf("\n", at) + 1 || -1) {
    report(LINE_START_RE, at);
  }
}

const LEADING_DECORATION_RE = /[\s*_"'`(\[#>]+/y;
const TRAILING_DECORATION = new Set([..." \t\r\n.!)]}*_\"'`$"]);
const CLOSING_DECORATION = new Set([...".!)]}*"]);

function findLastMention(scan: Scan, index: ChoiceIndex): Verdict {
  const text = scan.text;
  let last: Found | null = null;
  const consider = (found: Found | null) => {
    if (found === null || (last !== null && found.start <= last.start)) return;
    if (isNegatedBefore(text, found.start) || isNegatedAfter(text, found.end)) return;
    last = found;
  };

  consider(matchKeyAt(text, skip(LEADING_DECORATION_RE, text, 0), index));

  forEachDecoratedKey(scan, index, consider);
  consider(matchKeyAtEnd(text, index));
  if (last !== null) return last;

  return findLastOptionText(scan, index);
}

function lookupKey(token: string, index: ChoiceIndex): string | undefined {
  if (token.length === 1) return index.singleKeys.get(upperCodeAt(token, 0));
  const upper = token.toUpperCase();
  return index.longKeys.find((entry) => entry.upper === upper)?.key;
}

/**
 * Finds the key that ends the output, before any closing punctuation ("… so the pick is C.", "… (D)").
 * Without closing punctuation, a letter that may start a cut-off word does not count.
 */
function matchKeyAtEnd(text: string, index: ChoiceIndex): Found | null {
  let end = text.length;
  let closed = false;
  while (end > 0 && TRAILING_DECORATION.has(text[end - 1])) {
    if (CLOSING_DECORATION.has(text[end - 1])) closed = true;
    end--;
  }
  if (end === 0) return null;

  for (const { key, upper } of index.longKeys) {
    const start = end - upper.length;
    if (start >= 0 && isStandaloneStart(text, start) && text.slice(start, end).toUpperCase() === upper) return { key, start, end };
  }

  const start = end - 1;
  const key = index.singleKeys.get(upperCodeAt(text, start));
  if (key === undefined || !isStandaloneStart(text, start)) return null;
  if (closed || !isCutOffWord(text, start)) return { key, start, end };
  return null;
}

const SENTENCE_END_RE = /(?:^|[.!?\n])\s*$/;

/**
 * Returns whether the letter at `start`, last in an output without closing punctuation, may be the first
 * letter of a word cut off there: any lower-case letter, "I", or "A" opening a sentence.
 */
function isCutOffWord(text: string, start: number): boolean {
  if (isLowerAsciiAt(text, start)) return true;
  const code = text.charCodeAt(start);
  if (code === 73) return true;
  return code === 65 && SENTENCE_END_RE.test(text.slice(Math.max(0, start - 8), start));
}

/** Finds the option text mentioned last, standing alone and not negated. On a tie the longer text wins. */
function findLastOptionText(scan: Scan, index: ChoiceIndex): Found | null {
  const text = scan.text;
  const lower = scan.lower;
  let last: Found | null = null;

  for (const option of index.options) {
    let from = lower.length;
    while (from >= 0) {
      const start = lower.lastIndexOf(option.text, from);
      if (start < 0 || (last !== null && start <= last.start)) break;
      const end = start + option.text.length;
      if (
        isOptionBoundaryBefore(lower, start, option) &&
        isOptionBoundaryAfter(lower, end) &&
        !isNegatedBefore(text, start) &&
        !isNegatedAfter(text, end)
      ) {
        last = { key: option.key, start, end };
        break;
      }
      from = start - 1;
    }
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// Key and option matching at one position.

// After "A" or "I", these words still make it a key ("A is correct", "A because …"). Any other
// lower-case word makes it the article or the pronoun ("A good answer", "I think").
const KEY_FOLLOWERS = new Set([
  "is", "was", "seems", "appears", "because", "since", "as", "and", "or", "would", "should", "must",
  "could", "fits", "matches", "then", "so", "but",
]);
const LOWER_WORD_RE = /[a-z]+/y;

function upperCodeAt(text: string, index: number): number {
  const code = text.charCodeAt(index);
  if (code >= 97 && code <= 122) return code - 32;
  if (code < 128) return code;
  return text[index].toUpperCase().charCodeAt(0);
}

function matchKeyAt(text: string, start: number, index: ChoiceIndex): Found | null {
  if (start >= text.length || isWordCharAt(text, start - 1)) return null;

  for (const { key, upper } of index.longKeys) {
    const end = start + upper.length;
    if (end <= text.length && text.slice(start, end).toUpperCase() === upper && isKeyBoundaryAfter(text, end, false)) {
      return { key, start, end };
    }
  }

  const key = index.singleKeys.get(upperCodeAt(text, start));
  if (key === undefined) return null;
  const code = text.charCodeAt(start) | 32;
  return isKeyBoundaryAfter(text, start + 1, code === 97 || code === 105) ? { key, start, end: start + 1 } : null;
}

/**
 * Returns whether a key may end at `end`: not inside a word ("Because"), a hyphenated word ("B-cell"),
 * an abbreviation ("A.D.") or a contraction ("I'm"). When `articleLike` ("A", "I"), a lower-case
 * word after a space must be one of KEY_FOLLOWERS.
 */
function isKeyBoundaryAfter(text: string, end: number, articleLike: boolean): boolean {
  if (end >= text.length) return true;
  if (isWordCharAt(text, end)) return false;

  const char = text[end];
  if ((char === "-" || char === "." || char === "'" || char === "’") && isWordCharAt(text, end + 1)) return false;
  if (!articleLike || (char !== " " && char !== "\t")) return true;

  let next = end + 1;
  while (next < text.length && (text[next] === " " || text[next] === "\t")) next++;
  LOWER_WORD_RE.lastIndex = next;
  const word = LOWER_WORD_RE.exec(text);
  return word === null || KEY_FOLLOWERS.has(word[0]);
}

/** Returns whether a key may start at `start`: not after a word character, nor inside "A.D." or "X-B". */
function isStandaloneStart(text: string, start: number): boolean {
  if (isWordCharAt(text, start - 1)) return false;
  const before = text[start - 1];
  return !((before === "." || before === "-" || before === "'" || before === "’") && isLetterAt(text, start - 2));
}

function matchOptionAt(scan: Scan, start: number, index: ChoiceIndex): Found | null {
  if (start >= scan.text.length) return null;
  const lower = scan.lower;
  for (const option of index.options) {
    if (!lower.startsWith(option.text, start)) continue;
    const end = start + option.text.length;
    if (isOptionBoundaryBefore(lower, start, option) && isOptionBoundaryAfter(lower, end)) return { key: option.key, start, end };
  }
  return null;
}

/** Option texts stand alone; a number is also not the tail of "-3", "1.5" or "1,600". */
function isOptionBoundaryBefore(lower: string, start: number, option: OptionText): boolean {
  if (isWordCharAt(lower, start - 1)) return false;
  if (!option.numeric) return true;
  const before = lower[start - 1];
  if (before === "-" || before === "−") return false;
  return !((before === "." || before === ",") && isDigitAt(lower, start - 2));
}

/** Option texts stand alone; a number is also not the head of "1.5" or "1,600". */
function isOptionBoundaryAfter(lower: string, end: number): boolean {
  if (isWordCharAt(lower, end)) return false;
  const after = lower[end];
  return !((after === "." || after === ",") && isDigitAt(lower, end + 1));
}
