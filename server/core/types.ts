// Plain data types shared by the algorithm, the backends and the server.
// Everything here is JSON-serialisable so that search state can be checkpointed.

/** One benchmark item, in the format of the evaluation files published with Heterogeneous Swarms (Feng et al. 2025). */
export interface Item {
  question: string;
  /** Gold answer: a choice key for multiple-choice items, otherwise free text or a number. */
  answer: string;
  choices?: Record<string, string>;
  id?: string | number;
  domain?: string;
  /** Long-context tasks: position i of a system reads chunk i modulo the chunk count. */
  context_chunks?: string[];
}

export interface Dataset {
  name: string;
  dev: Item[];
  test: Item[];
  /** Few-shot prefix placed ahead of every prompt (knowledge_crosswords carries one). */
  icl_prompt?: string;
}

export type SplitName = "dev" | "test";

export type MetricName = "multiple_choice" | "exact_match" | "exact_match_reference" | "abstain" | "judge";

/** Prompt templates of a task. The defaults are the prompts of the Heterogeneous Swarms reference code. */
export interface PromptTemplates {
  firstStep: string;
  laterStep: string;
  /** Keeps newlines in previous responses; the reference code flattens them to spaces. */
  keepNewlines: boolean;
}

/** A decoded DAG over positions 0..n-1; `end` is the node whose output is the system's answer. */
export interface Dag {
  n: number;
  /** Edges [from, to]: the output of `from` is a previous response in the prompt of `to`. */
  edges: [number, number][];
  end: number;
  /** Order in which G-Decode placed the nodes; edges point from later-placed to earlier-placed. */
  placement: number[];
}

/** Generation settings sent to a backend with each call. */
export interface GenerationSettings {
  temperature: number;
  maxTokens: number;
  topP: number;
}

/** One call to a model: the model's pool index, its weight coefficients and the full prompt. */
export interface GenerationRequest {
  model: number;
  /** Weight coefficients over the expert basis; null for models whose weights cannot move. */
  coefficients: number[] | null;
  prompt: string;
  settings: GenerationSettings;
  /**
   * The item being answered and the previous responses in the prompt. Real backends ignore
   * these; the simulated pool reads them to decide correctness.
   */
  item: Item;
  previousResponses: string[];
}

export interface GenerationResult {
  text: string;
  promptTokens?: number;
  completionTokens?: number;
}

export type Generate = (request: GenerationRequest) => Promise<GenerationResult>;

/** Backend usage counters of a run: calls that reached a backend, cache hits and tokens. */
export interface Usage {
  backendCalls: number;
  cacheHits: number;
  promptTokens: number;
  completionTokens: number;
}
