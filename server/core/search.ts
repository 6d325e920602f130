import { collaborativeGain, roleDistribution, structuralRoles } from "./analysis";
import type { SearchConfig } from "./config";
import { stepLengthAt } from "./config";
import { evaluateSystem, type EvaluationContext } from "./evaluate";
import { gDecode, sparsify } from "./gdecode";
import { drawAssignments, jfkScores } from "./jfk";
import { fixedSystem, isFixedMethod } from "./baselines";
import { createSwarm, diagonalIndices, moveSwarm, recordScores, restartStrays, toMatrix, type Swarm } from "./pso";
import { Rng, type RngState } from "./rng";
import { singleModelSystem, type SystemSpec } from "./system";
import type { Dag, Item, Usage } from "./types";

// Heterogeneous Swarms (Feng et al. 2025, arXiv 2502.04510): alternate a role-step, PSO over
// continuous adjacency matrices decoded to DAGs by G-Decode, with a weight-step, PSO over each
// model's weight coefficients scored by JFK. The search is a sequence of steps over a plain
// state object; `searchStep` runs one, so a caller can checkpoint between any two steps.

export interface PoolInfo {
  names: string[];
  /** Models whose weights the weight-step may move; black-box models keep one-hot coefficients. */
  weightCapable: boolean[];
  /** Base model of each weight-capable model; models share an expert basis only within one base. */
  bases: (string | null)[];
}

export interface SearchContext {
  pool: PoolInfo;
  dev: readonly Item[];
  test: readonly Item[];
  evaluation: EvaluationContext;
  /** Cumulative backend usage of this process; the search adds the difference per step to its state. */
  usage: () => Usage;
}

export type StepKind = "init" | "role" | "weight" | "final";

/** One graph particle's outcome in a step. */
export interface GraphRecord {
  dag: Dag;
  utility: number;
}

export interface BestSystem {
  spec: SystemSpec;
  dev: number;
  step: number;
}

/** Record of one step, with enough data to draw every chart of a run. */
export interface StepRecord {
  index: number;
  kind: StepKind;
  iteration: number;
  stepLength: number | null;
  /** Graph particles evaluated in this step (init and role-steps). */
  graphs: GraphRecord[] | null;
  /** Graph particle positions after this step (flattened n×n). */
  graphPositions: number[][] | null;
  graphGlobalBest: number | null;
  /** JFK-scores per pool model after this step, and which models the last draw reached. */
  jfk: number[] | null;
  jfkDrawn: boolean[] | null;
  /** Assignments drawn and their utilities (init and weight-steps). */
  assignments: { assignment: number[]; utility: number }[] | null;
  /** Every pool model's coefficients after this step (null: fixed weights). */
  coefficients: (number[] | null)[];
  bestDev: number;
  usage: Usage;
}

export interface FinalResult {
  best: { dev: number; test: number; spec: SystemSpec; step: number };
  bestSingle: { model: number; dev: number; test: number };
  singles: { dev: number[]; test: number[] };
  cGain: number;
  buckets: ReturnType<typeof collaborativeGain>["buckets"];
  /** Structural role of each position of the best DAG. */
  bestRoles: string[];
  /** Structural roles per pool model, counted over every graph the search decoded. */
  roleCounts: Record<string, number>[];
  /** Per-item correctness on the test split: the best system and each model alone. */
  testCorrect: { system: boolean[]; models: boolean[][] };
}

export interface SearchState {
  version: 1;
  config: SearchConfig;
  modelCount: number;
  rng: RngState;
  next: StepKind | "done";
  stepIndex: number;
  iteration: number;
  graphSwarm: Swarm | null;
  /** One model swarm per expert basis; particle k moves the model `weightGroups[g][k]`. */
  weightGroups: number[][];
  modelSwarms: Swarm[];
  /** Best graph of the latest init or role-step, on which the weight-step draws assignments. */
  iterationBestDag: Dag | null;
  jfk: number[];
  jfkDrawn: boolean[];
  best: BestSystem | null;
  /** Structural roles per pool model, counted over every graph decoded so far. */
  roleCounts: Record<string, number>[];
  referenceCalls: number;
  usage: Usage;
  stopReason: string | null;
  result: FinalResult | null;
}

/** Creates the initial state; no evaluation happens before the first `searchStep`. */
export function createSearchState(config: SearchConfig, pool: PoolInfo): SearchState {
  const n = pool.names.length;
  if (n < 1) throw new Error("pool must contain at least one model, but got 0");
  if (pool.weightCapable.length !== n || pool.bases.length !== n) {
    throw new Error(`pool.weightCapable and pool.bases must have ${n} entries`);
  }

  return {
    version: 1,
    config,
    modelCount: n,
    rng: Rng.fromSeed(config.seed).state(),
    next: "init",
    stepIndex: 0,
    iteration: 0,
    graphSwarm: null,
    weightGroups: groupByBase(pool),
    modelSwarms: [],
    iterationBestDag: null,
    jfk: new Array(n).fill(0),
    jfkDrawn: new Array(n).fill(false),
    best: null,
    roleCounts: Array.from({ length: n }, () => ({})),
    referenceCalls: 0,
    usage: { backendCalls: 0, cacheHits: 0, promptTokens: 0, completionTokens: 0 },
    stopReason: null,
    result: null,
  };
}

function groupByBase(pool: PoolInfo): number[][] {
  const groups = new Map<string, number[]>();
  pool.weightCapable.forEach((capable, model) => {
    if (!capable) return;
    const base = pool.bases[model] ?? "";
    groups.set(base, [...(groups.get(base) ?? []), model]);
  });
  // A basis of one adapter cannot move anywhere but along its own line; still a valid swarm of one.
  return [...groups.values()];
}

/** Runs the next step and returns the new state with that step's record. */
export async function searchStep(state: SearchState, context: SearchContext): Promise<{ state: SearchState; record: StepRecord }> {
  if (state.next === "done") throw new Error("the search is finished; there is no next step");

  const rng = new Rng(state.rng);
  const usageBefore = context.usage();
  const stepContext = { ...context, rng };

  let outcome: StepOutcome;
  switch (state.next) {
    case "init":
      outcome = await initStep(state, stepContext);
      break;
    case "role":
      outcome = await roleStep(state, stepContext);
      break;
    case "weight":
      outcome = await weightStep(state, stepContext);
      break;
    case "final":
      outcome = await finalStep(state, stepContext);
      break;
  }

  const usage = addUsage(state.usage, diffUsage(context.usage(), usageBefore));
  const next: SearchState = {
    ...outcome.state,
    rng: rng.state(),
    stepIndex: state.stepIndex + 1,
    referenceCalls: state.referenceCalls + outcome.referenceCalls,
    usage,
  };
  scheduleNext(next, state.next);

  const record: StepRecord = {
    index: state.stepIndex,
    kind: state.next,
    iteration: state.iteration,
    stepLength: outcome.stepLength ?? null,
    graphs: outcome.graphs ?? null,
    graphPositions: next.graphSwarm && outcome.graphs ? next.graphSwarm.particles.map((p) => p.position) : null,
    graphGlobalBest: next.graphSwarm ? next.graphSwarm.globalBestScore : null,
    jfk: outcome.assignments ? next.jfk : null,
    jfkDrawn: outcome.assignments ? next.jfkDrawn : null,
    assignments: outcome.assignments ?? null,
    coefficients: currentCoefficients(next),
    bestDev: next.best?.dev ?? Number.NEGATIVE_INFINITY,
    usage,
  };
  return { state: next, record };
}

/** Runs steps until the search is done. */
export async function runSearch(
  state: SearchState,
  context: SearchContext,
  onStep?: (state: SearchState, record: StepRecord) => void | Promise<void>,
): Promise<SearchState> {
  let current = state;
  while (current.next !== "done") {
    const { state: next, record } = await searchStep(current, context);
    current = next;
    await onStep?.(current, record);
  }
  return current;
}

/** Steps a full run takes at most (init, two per iteration, final), for progress and ETA. */
export function plannedSteps(config: SearchConfig): number {
  if (isFixedMethod(config.method)) return 2;
  const perIteration = config.method === "role-only" || config.method === "weight-only" ? 1 : 2;
  return 2 + perIteration * config.maxIterations;
}

interface StepOutcome {
  state: SearchState;
  referenceCalls: number;
  stepLength?: number;
  graphs?: GraphRecord[];
  assignments?: { assignment: number[]; utility: number }[];
}

type StepContext = SearchContext & { rng: Rng };

async function initStep(state: SearchState, context: StepContext): Promise<StepOutcome> {
  const { config } = state;
  const n = state.modelCount;
  const rng = context.rng;

  if (isFixedMethod(config.method)) return fixedSystemStep(state, context);

  const positions = Array.from({ length: config.graphs }, () => randomAdjacency(n, rng));
  let graphSwarm = createSwarm(positions, config.startVelocity, rng, diagonalIndices(n));

  const modelSwarms = state.weightGroups.map((group) => {
    const fixedZero = indicesOutside(group, n);
    const oneHots = group.map((model) => oneHot(model, n));
    return createSwarm(oneHots, config.startVelocity, rng, fixedZero);
  });

  let next: SearchState = { ...state, graphSwarm, modelSwarms };
  const graphs = await evaluateGraphs(next, context);
  graphSwarm = recordScores(graphSwarm, graphs.map((g) => g.utility));
  next = { ...next, graphSwarm };
  let referenceCalls = graphs.reduce((sum, g) => sum + g.referenceCalls, 0);
  next = considerGraphs(next, graphs);

  const weighted = await scoreModels(next, context);
  referenceCalls += weighted.referenceCalls;

  return {
    state: weighted.state,
    referenceCalls,
    graphs: graphs.map(({ dag, utility }) => ({ dag, utility })),
    assignments: weighted.assignments,
  };
}

/** Baselines: evaluate every model alone, build the method's fixed system and evaluate it on dev. */
async function fixedSystemStep(state: SearchState, context: StepContext): Promise<StepOutcome> {
  const n = state.modelCount;
  const coefficients = currentCoefficients(state);
  let referenceCalls = 0;

  const singleDev: number[] = [];
  for (let model = 0; model < n; model++) {
    const single = await evaluateSystem(singleModelSystem(model, coefficients), context.dev, context.evaluation);
    singleDev.push(single.utility);
    referenceCalls += single.referenceCalls;
  }

  const method = state.config.method as Parameters<typeof fixedSystem>[0];
  const spec = fixedSystem(method, n, argmax(singleDev), coefficients, context.rng);
  const evaluation = await evaluateSystem(spec, context.dev, context.evaluation);
  referenceCalls += evaluation.referenceCalls;

  const roleCounts = spec.kind === "dag" && spec.dag.n === n ? addRoleCounts(state.roleCounts, [spec.dag], n) : state.roleCounts;
  return {
    state: { ...state, best: { spec, dev: evaluation.utility, step: state.stepIndex }, roleCounts },
    referenceCalls,
  };
}

async function roleStep(state: SearchState, context: StepContext): Promise<StepOutcome> {
  const { config } = state;
  const stepLength = stepLengthAt(config, state.iteration);

  let graphSwarm = moveSwarm(state.graphSwarm as Swarm, config, stepLength, context.rng);
  let next: SearchState = { ...state, graphSwarm };
  const graphs = await evaluateGraphs(next, context);
  graphSwarm = recordScores(graphSwarm, graphs.map((g) => g.utility));
  if (config.restartStrays) {
    graphSwarm = restartStrays(graphSwarm, Math.ceil(config.restartPatience * config.patience));
  }
  next = considerGraphs({ ...next, graphSwarm }, graphs);

  return {
    state: next,
    stepLength,
    referenceCalls: graphs.reduce((sum, g) => sum + g.referenceCalls, 0),
    graphs: graphs.map(({ dag, utility }) => ({ dag, utility })),
  };
}

async function weightStep(state: SearchState, context: StepContext): Promise<StepOutcome> {
  const { config } = state;
  const stepLength = stepLengthAt(config, state.iteration);
  const modelSwarms = state.modelSwarms.map((swarm) => moveSwarm(swarm, config, stepLength, context.rng));

  const scored = await scoreModels({ ...state, modelSwarms }, context);
  let next = scored.state;
  if (config.restartStrays) {
    const patience = Math.ceil(config.restartPatience * config.patience);
    next = { ...next, modelSwarms: next.modelSwarms.map((swarm) => restartStrays(swarm, patience)) };
  }

  return { state: next, stepLength, referenceCalls: scored.referenceCalls, assignments: scored.assignments };
}

/**
 * JFK-scores every model on the iteration's best graph from M random assignments, records the
 * scores in the model swarms, and lets the best of the M systems compete for the all-time best.
 */
async function scoreModels(state: SearchState, context: StepContext) {
  const dag = state.iterationBestDag as Dag;
  const coefficients = currentCoefficients(state);
  const assignments = drawAssignments(state.config.assignments, dag.n, state.modelCount, context.rng);

  const utilities: number[] = [];
  let referenceCalls = 0;
  let best: BestSystem | null = state.best;
  for (const assignment of assignments) {
    const spec: SystemSpec = { kind: "dag", dag, assignment, coefficients };
    const evaluation = await evaluateSystem(spec, context.dev, context.evaluation);
    utilities.push(evaluation.utility);
    referenceCalls += evaluation.referenceCalls;
    if (best === null || evaluation.utility > best.dev) best = { spec, dev: evaluation.utility, step: state.stepIndex };
  }

  const { scores, drawn } = jfkScores(assignments, utilities, state.jfk);
  const modelSwarms = state.weightGroups.map((group, g) => {
    const swarm = state.modelSwarms[g];
    return recordScores(swarm, group.map((model) => scores[model]));
  });

  return {
    state: { ...state, modelSwarms, jfk: scores, jfkDrawn: drawn, best },
    referenceCalls,
    assignments: assignments.map((assignment, j) => ({ assignment, utility: utilities[j] })),
  };
}

async function finalStep(state: SearchState, context: StepContext): Promise<StepOutcome> {
  const best = state.best as BestSystem;
  const n = state.modelCount;
  const evaluation = context.evaluation;
  let referenceCalls = 0;

  const testEvaluation = await evaluateSystem(best.spec, context.test, evaluation);
  referenceCalls += testEvaluation.referenceCalls;

  // The best single model: each model alone with its original expert weights, chosen on dev.
  const original = Array.from({ length: n }, (_, model) => (hasMovableWeights(state, model) ? oneHot(model, n) : null));
  const singleDev: number[] = [];
  for (let model = 0; model < n; model++) {
    const single = await evaluateSystem(singleModelSystem(model, original), context.dev, evaluation);
    singleDev.push(single.utility);
    referenceCalls += single.referenceCalls;
  }
  const bestModel = argmax(singleDev);

  // Collaborative gain on test: each model alone, with the weights it has in the best system.
  const singleTest: number[] = [];
  const modelsCorrect: boolean[][] = [];
  for (let model = 0; model < n; model++) {
    const single = await evaluateSystem(singleModelSystem(model, best.spec.coefficients), context.test, evaluation);
    singleTest.push(single.utility);
    modelsCorrect.push(single.correct);
    referenceCalls += single.referenceCalls;
  }
  const bestSingleTest = await evaluateSystem(singleModelSystem(bestModel, original), context.test, evaluation);
  referenceCalls += bestSingleTest.referenceCalls;

  const gain = collaborativeGain(testEvaluation.correct, modelsCorrect);
  const result: FinalResult = {
    best: { dev: best.dev, test: testEvaluation.utility, spec: best.spec, step: best.step },
    bestSingle: { model: bestModel, dev: singleDev[bestModel], test: bestSingleTest.utility },
    singles: { dev: singleDev, test: singleTest },
    cGain: gain.cGain,
    buckets: gain.buckets,
    bestRoles: best.spec.kind === "vote" ? best.spec.assignment.map(() => "source") : structuralRoles(best.spec.dag),
    roleCounts: state.roleCounts,
    testCorrect: { system: testEvaluation.correct, models: modelsCorrect },
  };

  return { state: { ...state, result }, referenceCalls };
}

/** Decides the step after `done`, applying the stop rules: iterations, patience and budget. */
function scheduleNext(state: SearchState, done: StepKind): void {
  const { config } = state;
  const roleSteps = config.method !== "weight-only";
  const weightSteps = config.method !== "role-only" && state.weightGroups.length > 0;

  if (done === "final") {
    state.next = "done";
    return;
  }
  if (done === "init" && isFixedMethod(config.method)) {
    state.stopReason = `fixed system: the ${config.method} baseline does not search`;
    state.next = "final";
    return;
  }
  if (done === "weight" || (done === "role" && !weightSteps)) state.iteration += 1;

  const stop = stopReason(state, done);
  if (stop !== null) {
    state.stopReason = stop;
    state.next = "final";
    return;
  }

  if (done === "init") state.next = roleSteps ? "role" : "weight";
  else if (done === "role") state.next = weightSteps ? "weight" : "role";
  else state.next = roleSteps ? "role" : "weight";
}

function stopReason(state: SearchState, done: StepKind): string | null {
  const { config } = state;
  const endOfIteration = done !== "init" && (done === "weight" || config.method === "role-only" || state.weightGroups.length === 0);

  if (config.budgetCalls !== null && state.usage.backendCalls >= config.budgetCalls) {
    return `budget: ${state.usage.backendCalls} backend calls reached the limit of ${config.budgetCalls}`;
  }
  const tokens = state.usage.promptTokens + state.usage.completionTokens;
  if (config.budgetTokens !== null && tokens >= config.budgetTokens) {
    return `budget: ${tokens} tokens reached the limit of ${config.budgetTokens}`;
  }
  if (!endOfIteration && done !== "init") return null;
  if (state.iteration >= config.maxIterations) return `max iterations: ${config.maxIterations}`;
  if (config.method !== "weight-only" && state.graphSwarm && state.graphSwarm.sinceGlobalImproved >= config.patience) {
    return `patience: the graph-side global best has not improved for ${config.patience} iterations`;
  }
  return null;
}

interface GraphEvaluation extends GraphRecord {
  referenceCalls: number;
}

/** Decodes every graph particle and evaluates it with the identity assignment on dev. */
async function evaluateGraphs(state: SearchState, context: StepContext): Promise<GraphEvaluation[]> {
  const { config } = state;
  const n = state.modelCount;
  const swarm = state.graphSwarm as Swarm;
  const coefficients = currentCoefficients(state);
  const identity = Array.from({ length: n }, (_, i) => i);

  const graphs: GraphEvaluation[] = [];
  for (const particle of swarm.particles) {
    const adjacency = toMatrix(particle.position, n);
    let dag = gDecode(adjacency, { topP: config.topP, mode: config.decodeMode, edgeThreshold: config.edgeThreshold }, context.rng);
    if (config.sparsifyTau !== null) dag = sparsify(dag, adjacency, config.sparsifyTau);

    const evaluation = await evaluateSystem({ kind: "dag", dag, assignment: identity, coefficients }, context.dev, context.evaluation);
    graphs.push({ dag, utility: evaluation.utility, referenceCalls: evaluation.referenceCalls });
  }
  return graphs;
}

/** Records this step's best graph for the weight-step and lets every graph compete for the all-time best. */
function considerGraphs(state: SearchState, graphs: GraphEvaluation[]): SearchState {
  const coefficients = currentCoefficients(state);
  const identity = Array.from({ length: state.modelCount }, (_, i) => i);
  const bestIndex = argmax(graphs.map((g) => g.utility));

  let best = state.best;
  for (const graph of graphs) {
    if (best === null || graph.utility > best.dev) {
      best = { spec: { kind: "dag", dag: graph.dag, assignment: identity, coefficients }, dev: graph.utility, step: state.stepIndex };
    }
  }
  const roleCounts = addRoleCounts(state.roleCounts, graphs.map((g) => g.dag), state.modelCount);
  return { ...state, best, iterationBestDag: graphs[bestIndex].dag, roleCounts };
}

function addRoleCounts(previous: Record<string, number>[], dags: Dag[], modelCount: number): Record<string, number>[] {
  const identity = Array.from({ length: modelCount }, (_, i) => i);
  const added = roleDistribution(dags, dags.map(() => identity), modelCount);
  return added.map((counts, model) => {
    const merged: Record<string, number> = { ...(previous[model] ?? {}) };
    for (const [role, count] of Object.entries(counts)) merged[role] = (merged[role] ?? 0) + (count as number);
    return merged;
  });
}

/** Returns every pool model's current coefficients: its particle's position, or null for fixed weights. */
export function currentCoefficients(state: SearchState): (number[] | null)[] {
  const n = state.modelCount;
  const coefficients: (number[] | null)[] = Array.from({ length: n }, () => null);
  state.weightGroups.forEach((group, g) => {
    const swarm = state.modelSwarms[g];
    group.forEach((model, k) => {
      coefficients[model] = swarm ? swarm.particles[k].position : oneHot(model, n);
    });
  });
  return coefficients;
}

function hasMovableWeights(state: SearchState, model: number): boolean {
  return state.weightGroups.some((group) => group.includes(model));
}

function randomAdjacency(n: number, rng: Rng): number[] {
  const flat: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) flat.push(i === j ? 0 : rng.next());
  }
  return flat;
}

function oneHot(index: number, n: number): number[] {
  return Array.from({ length: n }, (_, k) => (k === index ? 1 : 0));
}

function indicesOutside(group: readonly number[], n: number): number[] {
  return Array.from({ length: n }, (_, k) => k).filter((k) => !group.includes(k));
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function diffUsage(after: Usage, before: Usage): Usage {
  return {
    backendCalls: after.backendCalls - before.backendCalls,
    cacheHits: after.cacheHits - before.cacheHits,
    promptTokens: after.promptTokens - before.promptTokens,
    completionTokens: after.completionTokens - before.completionTokens,
  };
}

function addUsage(a: Usage, b: Usage): Usage {
  return {
    backendCalls: a.backendCalls + b.backendCalls,
    cacheHits: a.cacheHits + b.cacheHits,
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
  };
}
