import { describe, expect, it } from "vitest";
import { appendSteps, parseSteps, type RawStep } from "../../components/data/step-json";

const fanIn = { n: 3, edges: [[0, 2], [1, 2]], end: 2, placement: [2, 0, 1] };
const chain = { n: 3, edges: [[0, 1], [1, 2]], end: 2, placement: [2, 1, 0] };
const positionA = [0, 0.1, 0.9, 0.2, 0, 0.8, 0.3, 0.4, 0];
const positionB = [0, 0.7, 0.1, 0.2, 0, 0.9, 0.3, 0.4, 0];
const positionC = [0, 0.2, 0.8, 0.1, 0, 0.7, 0.3, 0.4, 0];

function stored(): RawStep[] {
  return [
    {
      index: 0,
      kind: "init",
      iteration: 0,
      graphs: [
        { position: positionA, dag: fanIn, utility: 0.5 },
        { position: positionB, dag: chain, utility: 0.6 },
      ],
      models: {
        jfk: [0.5, 0.4, 0.6],
        jfkDrawn: [true, true, false],
        coefficients: [[1, 0, 0], [0, 1, 0], null],
        assignments: [{ assignment: [0, 0, 2], utility: 0.55 }],
      },
      best: { dev: 0.6, kind: "dag", edges: chain.edges, end: 2, assignment: [0, 1, 2], coefficients: [[1, 0, 0], [0, 1, 0], null], foundAtStep: 0 },
    },
    {
      index: 1,
      kind: "role",
      iteration: 0,
      graphs: [
        { position: positionA, dag: fanIn, utility: 0.4 },
        { position: positionC, dag: fanIn, utility: 0.7 },
      ],
      models: { jfk: null, jfkDrawn: null, coefficients: [[1, 0, 0], [0, 1, 0], null], assignments: null },
      best: { dev: 0.7, kind: "dag", edges: fanIn.edges, end: 2, assignment: [0, 1, 2], coefficients: [], foundAtStep: 1 },
    },
    {
      index: 2,
      kind: "weight",
      iteration: 0,
      graphs: [],
      models: { jfk: [0.6, 0.4, 0.8], jfkDrawn: [true, true, true], coefficients: [[0.9, 0.1, 0], [0, 1, 0], null], assignments: [{ assignment: [2, 0, 2], utility: 0.8 }] },
      best: { dev: 0.8, kind: "dag", edges: fanIn.edges, end: 2, assignment: [2, 0, 2], coefficients: [], foundAtStep: 2 },
    },
  ];
}

describe("parseSteps", () => {
  it("reads graphs with their positions", () => {
    const [init] = parseSteps(stored());

    expect(init.graphs?.map((g) => g.utility)).toEqual([0.5, 0.6]);
    expect(init.graphs?.[1].dag).toEqual({ n: 3, edges: chain.edges, end: 2 });
    expect(init.graphPositions).toEqual([positionA, positionB]);
  });

  it("reads the models' JFK-scores, draws and coefficients", () => {
    const [init] = parseSteps(stored());

    expect(init.jfk).toEqual([0.5, 0.4, 0.6]);
    expect(init.jfkDrawn).toEqual([true, true, false]);
    expect(init.coefficients).toEqual([[1, 0, 0], [0, 1, 0], null]);
    expect(init.assignments).toEqual([{ assignment: [0, 0, 2], utility: 0.55 }]);
  });

  it("treats an empty graph list as no graphs", () => {
    expect(parseSteps(stored())[2].graphs).toBeNull();
  });

  it("keeps the graph global best as a running maximum", () => {
    expect(parseSteps(stored()).map((s) => s.graphGlobalBest)).toEqual([0.6, 0.7, 0.7]);
  });

  it("takes the best dev utility from the stored best", () => {
    expect(parseSteps(stored()).map((s) => s.bestDev)).toEqual([0.6, 0.7, 0.8]);
  });

  it("finds the adjacency of the particle whose utility matches the best", () => {
    expect(parseSteps(stored())[1].best?.adjacency).toEqual(positionC);
  });

  it("finds the adjacency of a weight-step's best in the latest graph step", () => {
    const best = parseSteps(stored())[2].best;

    expect(best?.step).toBe(2);
    expect(best?.assignment).toEqual([2, 0, 2]);
    expect(best?.adjacency).toEqual(positionC);
  });

  it("reads an empty best as none", () => {
    const raw = stored();
    raw[0].best = {};
    const [init] = parseSteps(raw);

    expect(init.best).toBeNull();
    expect(init.bestDev).toBeNull();
  });

  it("turns malformed fields into null instead of failing", () => {
    const raw = stored();
    raw[0].graphs = [{ dag: "broken", utility: 1 }];
    raw[0].models = "oops";
    const [init] = parseSteps(raw);

    expect(init.graphs).toBeNull();
    expect(init.jfk).toBeNull();
    expect(init.coefficients).toEqual([]);
  });

  it("gives a majority vote no adjacency", () => {
    const raw = stored();
    raw[0].best = { dev: 0.6, kind: "vote", edges: [], end: 0, assignment: [0, 1, 2], coefficients: [], foundAtStep: 0 };

    expect(parseSteps(raw)[0].best?.kind).toBe("vote");
    expect(parseSteps(raw)[0].best?.adjacency).toBeNull();
  });
});

describe("appendSteps", () => {
  it("parses new steps as parseSteps would", () => {
    const raw = stored();
    const appended = appendSteps(parseSteps(raw.slice(0, 2)), raw.slice(2));

    expect(appended).toEqual(parseSteps(raw));
  });

  it("keeps the steps parsed before", () => {
    const raw = stored();
    const before = parseSteps(raw.slice(0, 2));
    const appended = appendSteps(before, raw.slice(2));

    expect(appended[0]).toBe(before[0]);
    expect(appended[1]).toBe(before[1]);
  });

  it("returns the parsed steps themselves when nothing is new", () => {
    const raw = stored();
    const before = parseSteps(raw);

    expect(appendSteps(before, raw.slice(1))).toBe(before);
  });

  it("skips a repeated step", () => {
    const raw = stored();
    const appended = appendSteps(parseSteps(raw.slice(0, 1)), [raw[1], raw[1], raw[2]]);

    expect(appended.map((step) => step.index)).toEqual([0, 1, 2]);
  });

  it("orders new steps by index", () => {
    const raw = stored();

    expect(appendSteps([], [raw[2], raw[0], raw[1]])).toEqual(parseSteps(raw));
  });

  it("carries the graph global best over from the parsed steps", () => {
    const raw = stored();
    const appended = appendSteps(parseSteps(raw.slice(0, 2)), raw.slice(2));

    expect(appended[2].graphGlobalBest).toBe(0.7);
  });
});
