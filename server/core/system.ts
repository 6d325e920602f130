import { predecessors, reachableNodes } from "./gdecode";
import { renderPrompt } from "./prompts";
import type { Dag, Generate, GenerationSettings, Item, PromptTemplates } from "./types";

/**
 * A multi-LLM system: a decoded DAG, the model at each position, and every pool model's
 * weight coefficients (null for models whose weights are fixed).
 * `kind: "vote"` is the majority-vote baseline: every position answers alone and the most
 * frequent parsed answer wins, so `dag.edges` is empty there.
 */
export interface SystemSpec {
  kind: "dag" | "vote";
  dag: Dag;
  assignment: number[];
  coefficients: (number[] | null)[];
}

export interface NodeTrace {
  position: number;
  model: number;
  prompt: string;
  output: string;
}

export interface SystemRun {
  output: string;
  nodes: NodeTrace[];
}

export interface RunContext {
  generate: Generate;
  templates: PromptTemplates;
  settings: GenerationSettings;
  iclPrompt?: string;
  /** Parses an output to a comparable answer (a choice key or a normalised value); majority vote needs it. */
  extractAnswer: (output: string, item: Item) => string | null;
}

/** Runs every node that reaches the end node in topological order and returns the end node's output. */
export async function runSystem(spec: SystemSpec, item: Item, context: RunContext): Promise<SystemRun> {
  if (spec.kind === "vote") return runVote(spec, item, context);

  const outputs = new Map<number, string>();
  const nodes: NodeTrace[] = [];

  for (const position of reachableNodes(spec.dag)) {
    const previousResponses = predecessors(spec.dag, position).map((p) => outputs.get(p) as string);
    const trace = await callNode(spec, item, position, previousResponses, context);
    outputs.set(position, trace.output);
    nodes.push(trace);
  }

  return { output: outputs.get(spec.dag.end) as string, nodes };
}

async function runVote(spec: SystemSpec, item: Item, context: RunContext): Promise<SystemRun> {
  const nodes = await Promise.all(spec.assignment.map((_, position) => callNode(spec, item, position, [], context)));

  const counts = new Map<string, number>();
  let winner: string | null = null;
  let winnerCount = 0;
  for (const node of nodes) {
    const answer = context.extractAnswer(node.output, item);
    if (answer === null) continue;
    const count = (counts.get(answer) ?? 0) + 1;
    counts.set(answer, count);
    // Ties go to the answer that reached the count first, i.e. the earlier position.
    if (count > winnerCount) {
      winner = answer;
      winnerCount = count;
    }
  }

  const output = winner === null ? "No answer." : `The answer is ${winner}.`;
  return { output, nodes };
}

async function callNode(
  spec: SystemSpec,
  item: Item,
  position: number,
  previousResponses: string[],
  context: RunContext,
): Promise<NodeTrace> {
  const model = spec.assignment[position];
  const prompt = renderPrompt(context.templates, item, position, previousResponses, context.iclPrompt);
  const result = await context.generate({
    model,
    coefficients: spec.coefficients[model],
    prompt,
    settings: context.settings,
    item,
    previousResponses,
  });
  return { position, model, prompt, output: result.text };
}

/** Number of model calls the reference algorithm makes per item for this system (no cache). */
export function nodeCallsPerItem(spec: SystemSpec): number {
  return spec.kind === "vote" ? spec.assignment.length : reachableNodes(spec.dag).length;
}

/** Builds a system of one model answering alone. */
export function singleModelSystem(model: number, coefficients: (number[] | null)[]): SystemSpec {
  return {
    kind: "dag",
    dag: { n: 1, edges: [], end: 0, placement: [0] },
    assignment: [model],
    coefficients,
  };
}
