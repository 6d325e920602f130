import { z } from "zod";

// Search hyperparameters. Defaults are the paper's (Feng et al. 2025, arXiv 2502.04510) and
// those of its reference code; where the two differ the comment names both.

export const METHODS = [
  "heterogeneous-swarms",
  "best-single",
  "majority-vote",
  "chain",
  "star",
  "complete",
  "random",
  "role-only",
  "weight-only",
] as const;
export type Method = (typeof METHODS)[number];

export const searchConfigSchema = z
  .object({
    method: z.enum(METHODS).default("heterogeneous-swarms"),
    seed: z.number().int().min(0).default(1),
    /** N: number of graph particles. */
    graphs: z.number().int().min(2).default(10),
    /** M: number of random assignments drawn per weight-step for the JFK-score. */
    assignments: z.number().int().min(1).default(10),
    inertia: z.number().min(0).default(0.4),
    cognitive: z.number().min(0).default(0.3),
    social: z.number().min(0).default(0.3),
    repel: z.number().min(0).default(0.3),
    repelOn: z.boolean().default(true),
    /** λ_0, the initial step length. */
    stepLength: z.number().positive().default(1.0),
    /** γ in λ_t = max(λ_min, λ_0·γ^t); the paper's starter script uses 0.95. */
    stepLengthFactor: z.number().positive().max(1).default(1.0),
    minStepLength: z.number().min(0).default(0.1),
    patience: z.number().int().min(1).default(6),
    maxIterations: z.number().int().min(0).default(20),
    randomFactors: z.boolean().default(true),
    startVelocity: z.enum(["random", "zero"]).default("random"),
    restartStrays: z.boolean().default(false),
    /** Fraction of `patience` after which a stray particle restarts. */
    restartPatience: z.number().positive().default(0.5),
    /** Top-p of G-Decode; 0 is argmax (deterministic). The paper reports 0.8. */
    topP: z.number().min(0).max(1).default(0),
    decodeMode: z.enum(["tree", "dag"]).default("tree"),
    /** In "dag" decode mode, extra edges u → v need A_uv above this value. */
    edgeThreshold: z.number().default(0.5),
    /** Drops tree edges whose A_uv is below τ (null: off). */
    sparsifyTau: z.number().nullable().default(null),
    temperature: z.number().min(0).default(0),
    maxTokens: z.number().int().positive().default(512),
    /** Stops the search once this many backend calls were made (null: no limit). */
    budgetCalls: z.number().int().positive().nullable().default(null),
    /** Stops the search once this many tokens were used (null: no limit). */
    budgetTokens: z.number().int().positive().nullable().default(null),
    /** Evaluates at most this many dev items (null: the whole split). */
    devLimit: z.number().int().positive().nullable().default(null),
    /** Evaluates at most this many test items (null: the whole split). */
    testLimit: z.number().int().positive().nullable().default(null),
    /** Concurrent items in flight while a system is evaluated. */
    concurrency: z.number().int().positive().default(16),
  })
  .strict();

export type SearchConfig = z.output<typeof searchConfigSchema>;
export type SearchConfigInput = z.input<typeof searchConfigSchema>;

/** Resolves a partial configuration to a full one, rejecting unknown keys and invalid values. */
export function resolveConfig(input: SearchConfigInput = {}): SearchConfig {
  return searchConfigSchema.parse(input);
}

/** λ_t = max(λ_min, λ_0·γ^t). */
export function stepLengthAt(config: Pick<SearchConfig, "stepLength" | "stepLengthFactor" | "minStepLength">, iteration: number): number {
  return Math.max(config.minStepLength, config.stepLength * config.stepLengthFactor ** iteration);
}

/** One-line help per hyperparameter, shown by the CLI and the run form. */
export const CONFIG_HELP: Record<keyof SearchConfig, string> = {
  method: `search method or baseline: ${METHODS.join(", ")}`,
  seed: "seed of the run's random number generator",
  graphs: "N, the number of graph particles (candidate DAGs) per role-step",
  assignments: "M, the number of random assignments drawn per weight-step for the JFK-score",
  inertia: "PSO weight of the previous velocity",
  cognitive: "PSO weight of the pull toward a particle's personal best",
  social: "PSO weight of the pull toward the swarm's global best",
  repel: "PSO weight of the push away from the swarm's global worst",
  repelOn: "whether the repel term is used (true or false)",
  stepLength: "λ_0, the initial step length of a PSO move",
  stepLengthFactor: "γ: the step length at iteration t is max(λ_min, λ_0·γ^t); the paper's starter script uses 0.95",
  minStepLength: "λ_min, the smallest step length",
  patience: "stop after this many iterations without a better graph-side global best",
  maxIterations: "stop after this many iterations (one role-step and one weight-step each)",
  randomFactors: "draw the PSO weight factors r ~ U(0,1) each move (false: r = 1)",
  startVelocity: "initial velocity: random (toward another random particle) or zero",
  restartStrays: "send particles whose personal best stalls back to it with zero velocity",
  restartPatience: "a particle is a stray after ⌈restartPatience·patience⌉ iterations without improving",
  topP: "top-p of G-Decode's draws; 0 is argmax (deterministic), the paper reports 0.8",
  decodeMode: "tree: G-Decode's in-tree only; dag: also every later → earlier edge above edgeThreshold",
  edgeThreshold: "adjacency value an extra edge needs in dag decode mode",
  sparsifyTau: "drop tree edges whose adjacency value is below this (empty: keep all)",
  temperature: "sampling temperature of every model call; 0 is greedy decoding",
  maxTokens: "maximum tokens generated per model call",
  budgetCalls: "stop once this many backend calls were made (empty: no limit)",
  budgetTokens: "stop once this many tokens were used (empty: no limit)",
  devLimit: "search on the first this-many dev items only (empty: all)",
  testLimit: "report on the first this-many test items only (empty: all)",
  concurrency: "items evaluated at once; results do not depend on it",
};
