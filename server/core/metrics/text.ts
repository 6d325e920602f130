// Character tests and text folding shared by the answer parsers. Everything here runs once or
// more per scored output (about a million times in a benchmark), so regexes are compiled once
// and the common ASCII path avoids allocation.

const FULL_WIDTH_TEST_RE = /[\uFF01-\uFF5E\u3000]/;
const FULL_WIDTH_RE = /[\uFF01-\uFF5E\u3000]/g;
const FULL_WIDTH_OFFSET = 0xfee0;
const IDEOGRAPHIC_SPACE = "\u3000";

/** Folds full-width ASCII forms ("Ｂ", "（１）", "：") and the ideographic space into ASCII. */
export function foldFullWidth(text: string): string {
  if (!FULL_WIDTH_TEST_RE.test(text)) return text;
  return text.replace(FULL_WIDTH_RE, (char) =>
    char === IDEOGRAPHIC_SPACE ? " " : String.fromCharCode(char.charCodeAt(0) - FULL_WIDTH_OFFSET),
  );
}

const UNICODE_WORD_RE = /^[\p{L}\p{N}\p{M}]$/u;
const UNICODE_LETTER_RE = /^\p{L}$/u;

/** Returns whether text[index] is a letter, digit, combining mark or "_", and false outside the string. */
export function isWordCharAt(text: string, index: number): boolean {
  if (index < 0 || index >= text.length) return false;
  const code = text.charCodeAt(index);
  if (code < 128) {
    return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
  }
  return UNICODE_WORD_RE.test(text[index]);
}

export function isLetterAt(text: string, index: number): boolean {
  if (index < 0 || index >= text.length) return false;
  const code = text.charCodeAt(index);
  if (code < 128) return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
  return UNICODE_LETTER_RE.test(text[index]);
}

export function isDigitAt(text: string, index: number): boolean {
  if (index < 0 || index >= text.length) return false;
  const code = text.charCodeAt(index);
  return code >= 48 && code <= 57;
}

export function isLowerAsciiAt(text: string, index: number): boolean {
  if (index < 0 || index >= text.length) return false;
  const code = text.charCodeAt(index);
  return code >= 97 && code <= 122;
}

/**
 * Lower-cases text without changing its length, so that indexes found in the copy are valid in
 * the original. A few characters ("İ") lower-case to two code units; those are kept as they are.
 */
export function lowerSameLength(text: string): string {
  const lower = text.toLowerCase();
  if (lower.length === text.length) return lower;

  let folded = "";
  for (const char of text) {
    const lowered = char.toLowerCase();
    folded += lowered.length === char.length ? lowered : char;
  }
  return folded;
}

// A base model prompted with few-shot examples often answers, then goes on to write the next
// "Question: …" of the prompt, with another answer in it.
const CONTINUATION_RE = /\n[ \t]*(?:Question|Q)[ \t]*:/;

/** Returns the text ahead of a few-shot continuation ("…\nQuestion: …"), or null when there is none. */
export function textBeforeContinuation(text: string): string | null {
  const match = CONTINUATION_RE.exec(text);
  if (match === null || text.slice(0, match.index).trim() === "") return null;
  return text.slice(0, match.index);
}

// Answer phrases are found by searching the lower-cased text for a keyword with indexOf, then
// matching the rest of the phrase with a sticky regex at that spot. One regex with every
// phrase as an alternative took most of the parse time, because it is tried at every position.
const ANSWER_TAIL_RE =
  /answers?\b(?:\s+to\s+(?:this|the)\s+(?:question|problem))?[*_]*\s*(?:(?:here\s+|therefore\s+|thus\s+|then\s+)?(?:is|was|would\s+be|should\s+be|must\s+be|will\s+be|seems\s+to\s+be|appears\s+to\s+be)\b|[:=])/y;
const ANSWER_DASH_TAIL_RE = /answers?[*_]*\s+[-–—]\s/y;
const ANSWER_KIND_TAIL_RE = /answer\s+(?:choice|option|letter)\s*(?:is\b|[:=])/y;
const RANKED_KIND_TAIL_RE = /(?:option|choice|letter)\s*(?:is\b|[:=])/y;
const RANK_BEFORE_RE = /\b(?:final|correct|right|best)\s+$/;
const BOXED_TAIL_RE = /\\boxed\s*\{/y;
const CJK_ANSWER_TAIL_RE = /答案\s*[是为:]?/y;
const KIND_WORDS = ["option", "choice", "letter"];

/** Where an answer phrase ends, and whether it opened \boxed{…}. */
export interface AnswerMarker {
  start: number;
  end: number;
  boxed: boolean;
}

function stickyEnd(re: RegExp, text: string, position: number): number | null {
  re.lastIndex = position;
  return re.test(text) ? re.lastIndex : null;
}

/**
 * Finds the answer phrases of a lower-cased text, in text order: "answer is", "final answer:",
 * "**answer**:", "the answer to this question would be", "<answer>", "\boxed{" and "答案是".
 * For multiple choice also "answer - B", "answer choice is" and "the correct option is"; for
 * exact match also the GSM8K "####". "answer isn't" is no answer phrase.
 */
export function findAnswerMarkers(lower: string, kind: "choice" | "exact"): AnswerMarker[] {
  const markers: AnswerMarker[] = [];

  for (let at = lower.indexOf("answer"); at >= 0; at = lower.indexOf("answer", at + 6)) {
    if (isWordCharAt(lower, at - 1)) continue;
    if (lower[at - 1] === "<" && lower[at + 6] === ">") {
      markers.push({ start: at - 1, end: at + 7, boxed: false });
      continue;
    }
    let end = stickyEnd(ANSWER_TAIL_RE, lower, at);
    if (end === null && kind === "choice") end = stickyEnd(ANSWER_DASH_TAIL_RE, lower, at) ?? stickyEnd(ANSWER_KIND_TAIL_RE, lower, at);
    if (end !== null) markers.push({ start: at, end, boxed: false });
  }

  for (let at = lower.indexOf("\\boxed"); at >= 0; at = lower.indexOf("\\boxed", at + 6)) {
    const end = stickyEnd(BOXED_TAIL_RE, lower, at);
    if (end !== null) markers.push({ start: at, end, boxed: true });
  }

  for (let at = lower.indexOf("答案"); at >= 0; at = lower.indexOf("答案", at + 2)) {
    markers.push({ start: at, end: stickyEnd(CJK_ANSWER_TAIL_RE, lower, at) ?? at + 2, boxed: false });
  }

  if (kind === "exact") {
    for (let at = lower.indexOf("####"); at >= 0; at = lower.indexOf("####", at + 4)) {
      markers.push({ start: at, end: at + 4, boxed: false });
    }
  } else {
    for (const word of KIND_WORDS) {
      for (let at = lower.indexOf(word); at >= 0; at = lower.indexOf(word, at + word.length)) {
        if (isWordCharAt(lower, at - 1) || !RANK_BEFORE_RE.test(lower.slice(Math.max(0, at - 12), at))) continue;
        const end = stickyEnd(RANKED_KIND_TAIL_RE, lower, at);
        if (end !== null) markers.push({ start: at, end, boxed: false });
      }
    }
  }

  if (markers.length > 1) markers.sort((a, b) => a.start - b.start);
  return markers;
}

const NEGATION_BEFORE_RE =
  /(?:\bnot|n['’]t|\bexclud(?:e|ing)|\beliminat(?:e|ing)|\brul(?:e|ing)\s+out|\bexcept|\bneither|\bnor|\brather\s+than|\binstead\s+of)[\s(\[*"'`]*$/i;
const NEGATION_WINDOW = 24;

/** Returns whether the mention starting at `index` is negated by what precedes it ("not B", "rule out (C)"). */
export function isNegatedBefore(text: string, index: number): boolean {
  return NEGATION_BEFORE_RE.test(text.slice(Math.max(0, index - NEGATION_WINDOW), index));
}

const NEGATION_AFTER_RE =
  /[)\]*"'`]*\s*(?:(?:is|are|was|seems|appears|would\s+be)\s*(?:not\b|n['’]t\b)|(?:(?:is|are|was|seems|appears|would\s+be)\s+)?(?:wrong|incorrect|false|unlikely|invalid|impossible|ruled\s+out|eliminated|excluded)\b)/iy;

/** Returns whether the mention ending at `end` is negated by what follows it ("B is wrong", "(C) isn't"). */
export function isNegatedAfter(text: string, end: number): boolean {
  NEGATION_AFTER_RE.lastIndex = end;
  return NEGATION_AFTER_RE.test(text);
}
