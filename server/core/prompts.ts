import type { Item, PromptTemplates } from "./types";

// Default instructions are the paper's reference prompts, word for word, so that results stay
// comparable with the published numbers.
export const DEFAULT_TEMPLATES: PromptTemplates = {
  firstStep: "Please answer the following question.",
  laterStep:
    "Please answer the following question with the help of previous responses, feel free to ignore wrong or unhelpful responses.",
  keepNewlines: true,
};

/** Formats the question with its options (one "KEY: text" line per choice, in key order of the item). */
export function formatQuestion(item: Item): string {
  if (!item.choices) return item.question;
  const options = Object.entries(item.choices).map(([key, text]) => `${key}: ${text}`);
  return `${item.question}\n${options.join("\n")}`;
}

/**
 * Renders the prompt of the node at `position`.
 * A node without predecessors gets the first-step instruction and the question. Any other node
 * gets the later-step instruction, each predecessor's output as "Previous response k: …", then
 * the question. Items with `context_chunks` give position i the chunk i (mod count) first.
 */
export function renderPrompt(
  templates: PromptTemplates,
  item: Item,
  position: number,
  previousResponses: readonly string[],
  iclPrompt?: string,
): string {
  const parts: string[] = [];

  if (iclPrompt) parts.push(iclPrompt);
  if (item.context_chunks && item.context_chunks.length > 0) {
    parts.push(`Context: ${item.context_chunks[position % item.context_chunks.length]}`);
  }

  if (previousResponses.length === 0) {
    parts.push(templates.firstStep);
  } else {
    parts.push(templates.laterStep);
    previousResponses.forEach((response, k) => {
      // The reference code flattens intermediate outputs to one line; keepNewlines=false does the same.
      const text = templates.keepNewlines ? response : response.replace(/\s*\n\s*/g, " ");
      parts.push(`Previous response ${k + 1}: ${text}`);
    });
  }

  parts.push(`Question: ${formatQuestion(item)}`);
  return parts.join("\n\n");
}
