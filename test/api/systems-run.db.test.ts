import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Prisma } from "../../generated/prisma/client";
import { extractAnswer } from "../../server/core/answers";
import { DEFAULT_TEMPLATES } from "../../server/core/prompts";
import { runSystem } from "../../server/core/system";
import type { GenerationRequest } from "../../server/core/types";
import { OperationalError } from "../../server/errors";
import type { Backend } from "../../server/llm/backend";
import { SIMULATED_PRESETS, SimulatedBackend } from "../../server/llm/simulated";
import type { BackendFactory } from "../../server/runs/loader";
import { rebuildPlacement } from "../../server/systems/placement";
import { FREE_QUESTION_GOLD, runStoredSystem } from "../../server/systems/run";
import { createApiHarness, type ApiHarness } from "./context";
import { definitionOf, seedPool, seedSystem, TREE_SYSTEM } from "./system-fixture";

let api: ApiHarness;
let pool: Awaited<ReturnType<typeof seedPool>>;
let treeId: string;

const QUESTION = "A crate holds 74 apples and 3 more are added. How many apples are in the crate?";

beforeAll(async () => {
  api = await createApiHarness();
  pool = await seedPool(api.db.prisma, "systems-run pool");
  treeId = (await seedSystem(api.db.prisma, "tree", definitionOf(pool, TREE_SYSTEM))).id;
});

afterAll(async () => {
  await api?.close();
});

/** Wraps the default backend in one that records every request it receives. */
function recordingFactory(requests: GenerationRequest[]): BackendFactory {
  return ({ defaultBackend }) => {
    const inner = defaultBackend as Backend;
    return {
      modelIdentity: (model) => inner.modelIdentity(model),
      generate: async (request) => {
        requests.push(request);
        return inner.generate(request);
      },
    };
  };
}

async function rejectionOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => null,
    (caught: unknown) => caught,
  );
}

describe("runStoredSystem", () => {
  it("runs the nodes in topological order", async () => {
    const run = await runStoredSystem(api.db.prisma, treeId, QUESTION);

    expect(run.nodes.map((node) => node.position)).toEqual([2, 3, 1, 0]);
    expect(run.nodes.map((node) => node.model)).toEqual(["expert-b", "expert-c", "expert-a", "verifier"]);
  });

  it("lists previous responses in placement order", async () => {
    const run = await runStoredSystem(api.db.prisma, treeId, QUESTION);
    const [second, third, relay] = run.nodes;

    expect(relay.inputs).toEqual([3, 2]);
    expect(relay.prompt).toContain(`Previous response 1: ${third.output}`);
    expect(relay.prompt).toContain(`Previous response 2: ${second.output}`);
    expect(relay.prompt).toContain(DEFAULT_TEMPLATES.laterStep);
    expect(second.prompt).toBe(`${DEFAULT_TEMPLATES.firstStep}\n\nQuestion: ${QUESTION}`);
  });

  it("answers with the end node's output", async () => {
    const run = await runStoredSystem(api.db.prisma, treeId, QUESTION);

    expect(run.answer).toBe(run.nodes[3].output);
    expect(run.nodes[3].position).toBe(TREE_SYSTEM.end);
  });

  it("equals the core runSystem on the same spec", async () => {
    const run = await runStoredSystem(api.db.prisma, treeId, QUESTION);
    const backend = new SimulatedBackend(SIMULATED_PRESETS.complementary, [], 0);
    const expected = await runSystem(
      {
        kind: "dag",
        dag: { n: 4, edges: TREE_SYSTEM.edges, end: 0, placement: [0, 1, 3, 2] },
        assignment: TREE_SYSTEM.assignment,
        coefficients: [TREE_SYSTEM.coefficients?.[0] ?? null, null, null, null, TREE_SYSTEM.coefficients?.[4] ?? null, null],
      },
      { question: QUESTION, answer: FREE_QUESTION_GOLD },
      { generate: (request) => backend.generate(request), templates: DEFAULT_TEMPLATES, settings: { temperature: 0, maxTokens: 77, topP: 1 }, extractAnswer },
    );

    expect(run.answer).toBe(expected.output);
    expect(run.nodes.map((node) => node.output)).toEqual(expected.nodes.map((node) => node.output));
  });

  it("sends coefficients and run settings", async () => {
    const requests: GenerationRequest[] = [];
    await runStoredSystem(api.db.prisma, treeId, QUESTION, { backendFactory: recordingFactory(requests) });
    const byModel = new Map(requests.map((request) => [request.model, request]));

    expect(requests).toHaveLength(4);
    expect(byModel.get(0)?.coefficients).toEqual([0.6, 0.4, 0, 0, 0, 0]);
    expect(byModel.get(4)?.coefficients).toEqual([0.1, 0, 0, 0, 0.9, 0]);
    expect(byModel.get(1)?.coefficients).toBeNull();
    expect(requests[0].settings).toEqual({ temperature: 0, maxTokens: 77, topP: 1 });
  });

  it("gives the simulated pool a placeholder gold", async () => {
    const requests: GenerationRequest[] = [];
    // On this question the relay node solves alone and the verifier at the end node recognises its answer.
    const question = "What is 12 times 7?";
    const run = await runStoredSystem(api.db.prisma, treeId, question, { backendFactory: recordingFactory(requests) });

    expect(requests.every((request) => request.item.answer === FREE_QUESTION_GOLD)).toBe(true);
    expect(requests.every((request) => request.item.question === question)).toBe(true);
    expect(run.simulated).toBe(true);
    expect(run.answer).toContain(FREE_QUESTION_GOLD);
    for (const node of run.nodes) expect(node.output).toMatch(/simulated answer|I am not sure/);
  });

  it("returns the same answer on every call", async () => {
    const first = await runStoredSystem(api.db.prisma, treeId, QUESTION);
    const second = await runStoredSystem(api.db.prisma, treeId, QUESTION);

    expect(second).toEqual(first);
  });

  it("counts the tokens of every node's call", async () => {
    const run = await runStoredSystem(api.db.prisma, treeId, QUESTION);
    const promptTokens = run.nodes.reduce((sum, node) => sum + Math.ceil(node.prompt.length / 4), 0);
    const completionTokens = run.nodes.reduce((sum, node) => sum + Math.ceil(node.output.length / 4), 0);

    expect(run.usage.promptTokens).toBe(promptTokens);
    expect(run.usage.completionTokens).toBe(completionTokens);
    expect(run.usage.backendCalls + run.usage.cacheHits).toBe(4);
  });

  it("trims the question", async () => {
    const padded = await runStoredSystem(api.db.prisma, treeId, `\n  ${QUESTION}  \n`);
    const plain = await runStoredSystem(api.db.prisma, treeId, QUESTION);

    expect(padded.answer).toBe(plain.answer);
  });

  it("rejects an empty question with BAD_REQUEST", async () => {
    const error = await rejectionOf(runStoredSystem(api.db.prisma, treeId, "  \n "));

    expect(error).toBeInstanceOf(OperationalError);
    expect((error as OperationalError).code).toBe("BAD_REQUEST");
  });

  it("rejects an unknown system with NOT_FOUND", async () => {
    const error = await rejectionOf(runStoredSystem(api.db.prisma, "no-such-system", QUESTION));

    expect(error).toBeInstanceOf(OperationalError);
    expect((error as OperationalError).code).toBe("NOT_FOUND");
    expect((error as OperationalError).message).toContain("no-such-system");
  });

  it("rejects an invalid stored definition with CONFLICT", async () => {
    const broken = await api.db.prisma.system.create({ data: { name: "broken", definition: { format: "hswarm-system", version: 1 } } });

    const error = await rejectionOf(runStoredSystem(api.db.prisma, broken.id, QUESTION));

    expect(error).toBeInstanceOf(OperationalError);
    expect((error as OperationalError).code).toBe("CONFLICT");
    expect((error as OperationalError).message).toContain("invalid definition");
  });
});

describe("system placement", () => {
  it("comes from the run's checkpoint", async () => {
    const run = await api.db.prisma.run.create({
      data: {
        poolId: pool.id,
        taskId: (await api.db.prisma.task.create({ data: { name: "placement task", metric: "exact_match", promptTemplates: { ...DEFAULT_TEMPLATES } } })).id,
        method: "heterogeneous-swarms",
        config: {},
        seed: 1,
        status: "completed",
        checkpoint: { result: { best: { spec: { dag: { n: 4, edges: TREE_SYSTEM.edges, end: 0, placement: [0, 1, 3, 2] } } } } } as Prisma.InputJsonValue,
      },
    });
    const system = await seedSystem(api.db.prisma, "from checkpoint", definitionOf(pool, { ...TREE_SYSTEM, placement: null, runId: run.id }));

    const result = await runStoredSystem(api.db.prisma, system.id, QUESTION);

    expect(result.nodes.map((node) => node.position)).toEqual([2, 3, 1, 0]);
  });

  it("is rebuilt from the edges otherwise", async () => {
    const system = await seedSystem(api.db.prisma, "rebuilt", definitionOf(pool, { ...TREE_SYSTEM, placement: null }));

    const result = await runStoredSystem(api.db.prisma, system.id, QUESTION);

    expect(rebuildPlacement({ n: 4, edges: TREE_SYSTEM.edges, end: 0 })).toEqual([0, 1, 2, 3]);
    expect(result.nodes.map((node) => node.position)).toEqual([3, 2, 1, 0]);
    expect(result.nodes[2].inputs).toEqual([2, 3]);
  });

  it("ignores one contradicting the edges", async () => {
    const system = await seedSystem(api.db.prisma, "contradicting", definitionOf(pool, { ...TREE_SYSTEM, placement: [2, 3, 1, 0] }));

    const result = await runStoredSystem(api.db.prisma, system.id, QUESTION);

    expect(result.nodes.map((node) => node.position)).toEqual([3, 2, 1, 0]);
  });
});

describe("vote systems", () => {
  it("run every position alone", async () => {
    const fixture = { kind: "vote" as const, n: 3, edges: [], end: 0, assignment: [0, 4, 5], placement: [0, 1, 2] };
    const system = await seedSystem(api.db.prisma, "vote", definitionOf(pool, fixture));

    const run = await runStoredSystem(api.db.prisma, system.id, QUESTION);

    expect(run.nodes.map((node) => node.position)).toEqual([0, 1, 2]);
    expect(run.nodes.every((node) => node.inputs.length === 0)).toBe(true);
    expect(run.answer).toMatch(/^The answer is .+\.$|^No answer\.$/);
  });
});

describe("API keys of served systems", () => {
  const SECRET = "sk-serve-3c2b1a09f8e7";

  it("go only to the model's endpoint", async () => {
    const hosted = await api.db.prisma.pool.create({
      data: {
        name: "hosted pool",
        models: {
          create: [0, 1].map((index) => ({
            index,
            name: `hosted-${index}`,
            backend: "openai" as const,
            endpoint: "http://127.0.0.1:9/v1",
            modelName: `served-${index}`,
            generationSettings: { temperature: 0, maxTokens: 64, topP: 1 },
            apiKey: SECRET,
          })),
        },
      },
      include: { models: { orderBy: { index: "asc" } } },
    });
    const system = await seedSystem(api.db.prisma, "hosted", definitionOf(hosted, { n: 2, edges: [[1, 0]], end: 0, assignment: [0, 1], placement: [0, 1] }));
    // Model 1 now points at another server, so its key must not go to the system's endpoint.
    await api.db.prisma.poolModel.update({ where: { id: hosted.models[1].id }, data: { endpoint: "http://127.0.0.1:10/v1" } });

    const keys: (string | null)[] = [];
    const factory: BackendFactory = ({ models }) => {
      keys.push(...models.map((model) => model.apiKey));
      return { modelIdentity: (model) => `fake:${model}`, generate: async () => ({ text: "The answer is 77.", promptTokens: 3, completionTokens: 2 }) };
    };
    const run = await runStoredSystem(api.db.prisma, system.id, QUESTION, { backendFactory: factory });

    expect(keys).toEqual([SECRET, null]);
    expect(run.answer).toBe("The answer is 77.");
    expect(run.simulated).toBe(false);
    expect(JSON.stringify(run)).not.toContain(SECRET);
  });
});

describe("systems.run", () => {
  it("returns the same run as runStoredSystem", async () => {
    const viaApi = await api.caller.systems.run({ id: treeId, question: QUESTION });
    const direct = await runStoredSystem(api.db.prisma, treeId, QUESTION);

    expect(viaApi).toEqual(direct);
  });

  it("rejects an empty question, naming the field", async () => {
    const error = await rejectionOf(api.caller.systems.run({ id: treeId, question: "   " }));

    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("BAD_REQUEST");
    expect((error as TRPCError).message).toContain("question");
  });

  it("rejects an unknown system with NOT_FOUND", async () => {
    const error = await rejectionOf(api.caller.systems.run({ id: "no-such-system", question: QUESTION }));

    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("NOT_FOUND");
  });
});
