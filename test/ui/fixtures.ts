import type { DagShape, StepView } from "../../components/data/types";

// A small recorded run over a pool of three models: init, one role-step, one weight-step, final.

export const NAMES = ["math", "law", "verifier"];

/** 0 → 2, 1 → 2: two sources feeding the end node 2. */
export const FAN_IN: DagShape = { n: 3, edges: [[0, 2], [1, 2]], end: 2 };

/** 0 → 1 → 2: a chain. */
export const CHAIN: DagShape = { n: 3, edges: [[0, 1], [1, 2]], end: 2 };

export function recordedSteps(): StepView[] {
  return [
    {
      index: 0,
      kind: "init",
      iteration: 0,
      graphs: [
        { dag: FAN_IN, utility: 0.5 },
        { dag: CHAIN, utility: 0.6 },
      ],
      graphPositions: [
        [0, 0.2, 0.9, 0.1, 0, 0.8, 0.3, 0.4, 0],
        [0, 0.7, 0.1, 0.2, 0, 0.9, 0.3, 0.4, 0],
      ],
      graphGlobalBest: 0.6,
      jfk: [0.55, 0.4, 0.62],
      jfkDrawn: [true, true, true],
      assignments: [
        { assignment: [2, 2, 0], utility: 0.58 },
        { assignment: [1, 0, 2], utility: 0.52 },
      ],
      coefficients: [[1, 0, 0], [0, 1, 0], null],
      bestDev: 0.6,
      best: null,
    },
    {
      index: 1,
      kind: "role",
      iteration: 0,
      graphs: [
        { dag: FAN_IN, utility: 0.7 },
        { dag: CHAIN, utility: 0.65 },
      ],
      graphPositions: [
        [0, 0.1, 1.4, 0.2, 0, 0.6, 0.3, 0.5, 0],
        [0, 0.8, 0.1, 0.2, 0, 1.1, 0.3, 0.4, 0],
      ],
      graphGlobalBest: 0.7,
      jfk: null,
      jfkDrawn: null,
      assignments: null,
      coefficients: [[1, 0, 0], [0, 1, 0], null],
      bestDev: 0.7,
      best: null,
    },
    {
      index: 2,
      kind: "weight",
      iteration: 0,
      graphs: null,
      graphPositions: null,
      graphGlobalBest: 0.7,
      jfk: [0.6, 0.4, 0.75],
      jfkDrawn: [true, false, true],
      assignments: [
        { assignment: [0, 0, 2], utility: 0.75 },
        { assignment: [2, 0, 2], utility: 0.68 },
      ],
      coefficients: [[0.8, -0.3, 0], [0, 1, 0], null],
      bestDev: 0.75,
      best: null,
    },
    {
      index: 3,
      kind: "final",
      iteration: 1,
      graphs: null,
      graphPositions: null,
      graphGlobalBest: 0.7,
      jfk: null,
      jfkDrawn: null,
      assignments: null,
      coefficients: [[0.8, -0.3, 0], [0, 1, 0], null],
      bestDev: 0.75,
      best: null,
    },
  ];
}
