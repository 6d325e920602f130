import type { AssignmentOutcome, BestSystemShape, DagShape, GraphOutcome, StepKind, StepView } from "./types";

// Converts the steps the runs API returns (RunStep rows: graphs, models and best as stored JSON)
// to the StepView the charts read. The JSON is read defensively: a field of the wrong shape
// becomes null, so one odd step cannot break the whole page.

export interface RawStep {
  index: number;
  kind: StepKind;
  iteration: number;
  /** Array of { position: number[] | null, dag: { n, edges, end }, utility }. */
  graphs: unknown;
  /** { jfk, jfkDrawn, coefficients, assignments }. */
  models: unknown;
  /** { dev, kind, edges, end, assignment, coefficients, foundAtStep }, or {} before any system. */
  best: unknown;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => typeof v === "number");
}

function isEdgeList(value: unknown): value is [number, number][] {
  return Array.isArray(value) && value.every((edge) => isNumberArray(edge) && edge.length === 2);
}

function readDag(value: unknown): DagShape | null {
  if (!isObject(value) || typeof value.n !== "number" || typeof value.end !== "number" || !isEdgeList(value.edges)) return null;
  return { n: value.n, edges: value.edges, end: value.end };
}

function readGraphs(value: unknown): { graphs: GraphOutcome[]; positions: number[][] | null } | null {
  if (!Array.isArray(value) || value.length === 0) return null;

  const graphs: GraphOutcome[] = [];
  const positions: number[][] = [];
  for (const entry of value) {
    if (!isObject(entry) || typeof entry.utility !== "number") return null;
    const dag = readDag(entry.dag);
    if (dag === null) return null;
    graphs.push({ dag, utility: entry.utility });
    if (isNumberArray(entry.position)) positions.push(entry.position);
  }
  return { graphs, positions: positions.length === graphs.length ? positions : null };
}

function readCoefficients(value: unknown): (number[] | null)[] {
  if (!Array.isArray(value)) return [];
  return value.map((row) => (isNumberArray(row) ? row : null));
}

function readAssignments(value: unknown): AssignmentOutcome[] | null {
  if (!Array.isArray(value)) return null;
  const outcomes = value.filter((a): a is AssignmentOutcome => isObject(a) && isNumberArray(a.assignment) && typeof a.utility === "number");
  return outcomes.length > 0 ? outcomes : null;
}

function readBest(value: unknown): Omit<BestSystemShape, "adjacency"> | null {
  if (!isObject(value) || typeof value.dev !== "number" || !isNumberArray(value.assignment)) return null;
  if (typeof value.end !== "number" || !isEdgeList(value.edges)) return null;

  return {
    kind: value.kind === "vote" ? "vote" : "dag",
    dag: { n: value.assignment.length, edges: value.edges, end: value.end },
    assignment: value.assignment,
    coefficients: readCoefficients(value.coefficients),
    dev: value.dev,
    step: typeof value.foundAtStep === "number" ? value.foundAtStep : -1,
  };
}

/** Converts stored steps to StepViews, in index order. */
export function parseSteps(raw: readonly RawStep[]): StepView[] {
  return appendSteps([], raw);
}

/**
 * Parses `raw` and appends it to steps parsed before, without parsing those again. New steps
 * are taken in index order. A step whose index is not above the last parsed one is skipped,
 * because the run page receives steps in index order and may receive a step twice (from the
 * stored history and from the stream). Returns `parsed` itself when nothing is new, so that a
 * memoized chart does not redraw.
 */
export function appendSteps(parsed: readonly StepView[], raw: readonly RawStep[]): StepView[] {
  let lastIndex = parsed.length > 0 ? parsed[parsed.length - 1].index : Number.NEGATIVE_INFINITY;
  const fresh = raw.filter((step) => step.index > lastIndex).sort((a, b) => a.index - b.index);
  if (fresh.length === 0) return parsed as StepView[];

  const steps = [...parsed];
  let graphGlobalBest = parsed.length > 0 ? parsed[parsed.length - 1].graphGlobalBest : null;
  for (const step of fresh) {
    if (step.index === lastIndex) continue;
    lastIndex = step.index;

    const graphs = readGraphs(step.graphs);
    for (const graph of graphs?.graphs ?? []) {
      if (graphGlobalBest === null || graph.utility > graphGlobalBest) graphGlobalBest = graph.utility;
    }

    const models = isObject(step.models) ? step.models : {};
    const best = readBest(step.best);
    const view: StepView = {
      index: step.index,
      kind: step.kind,
      iteration: step.iteration,
      graphs: graphs?.graphs ?? null,
      graphPositions: graphs?.positions ?? null,
      graphGlobalBest,
      jfk: isNumberArray(models.jfk) ? models.jfk : null,
      jfkDrawn: Array.isArray(models.jfkDrawn) && models.jfkDrawn.every((d) => typeof d === "boolean") ? (models.jfkDrawn as boolean[]) : null,
      assignments: readAssignments(models.assignments),
      coefficients: readCoefficients(models.coefficients),
      bestDev: best?.dev ?? null,
      best: null,
    };
    steps.push(view);
    if (best !== null) view.best = { ...best, adjacency: adjacencyOf(best, steps) };
  }
  return steps;
}

/**
 * Finds the adjacency matrix the best DAG was decoded from: a graph with the same edges in the
 * step that found it or, for a system found by a weight-step, in the latest step with graphs
 * before it. Several particles can decode to one DAG, so a graph whose utility equals the
 * system's dev utility is preferred, then the one with the highest utility.
 */
function adjacencyOf(best: Omit<BestSystemShape, "adjacency">, steps: readonly StepView[]): number[] | null {
  if (best.kind === "vote") return null;
  const key = dagKey(best.dag);

  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i];
    if (step.index > best.step || !step.graphs || !step.graphPositions) continue;

    const candidates = step.graphs.map((graph, particle) => ({ graph, particle })).filter(({ graph }) => dagKey(graph.dag) === key);
    if (candidates.length === 0) return null;

    const exact = candidates.find(({ graph }) => graph.utility === best.dev);
    const top = candidates.reduce((a, b) => (b.graph.utility > a.graph.utility ? b : a));
    const match = (exact ?? top).particle;
    return step.graphPositions[match];
  }
  return null;
}

function dagKey(dag: DagShape): string {
  const edges = [...dag.edges].map(([from, to]) => `${from}>${to}`).sort();
  return `${dag.n}|${dag.end}|${edges.join(",")}`;
}
