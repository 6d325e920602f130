import type { AddressInfo } from "node:net";
import { TRPCError } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTERNAL_ERROR_MESSAGE } from "../../server/trpc/init";
import { appRouter, createCaller } from "../../server/trpc/root";
import { createApiHarness, type ApiHarness } from "./context";

let api: ApiHarness;

beforeAll(async () => {
  api = await createApiHarness();
});

afterAll(async () => {
  await api?.close();
});

const SECRET = "sk-test-7f3a9c1e5b2d4f6a8c0e";

const openaiModel = (name: string, apiKey?: string) => ({
  name,
  backend: "openai" as const,
  endpoint: "http://127.0.0.1:8000/v1/",
  modelName: "llama-3-8b",
  ...(apiKey === undefined ? {} : { apiKey }),
});

/** Runs a call that must fail and returns its TRPCError. */
async function rejectionOf(call: Promise<unknown>): Promise<TRPCError> {
  const error = await call.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe("pools", () => {
  it("creates a pool with models in index order", async () => {
    const pool = await api.caller.pools.create({
      name: "two hosted",
      models: [openaiModel("first", SECRET), openaiModel("second")],
    });

    expect(pool.models.map((model) => model.index)).toEqual([0, 1]);
    expect(pool.models.map((model) => model.name)).toEqual(["first", "second"]);
    expect(pool.models[0].endpoint).toBe("http://127.0.0.1:8000/v1");
    expect(pool.models[0].generationSettings).toEqual({ temperature: 0, maxTokens: 512, topP: 1 });
    expect(pool.models[0].weightCapable).toBe(false);
  });

  it("lists pools with model counts", async () => {
    const pools = await api.caller.pools.list();
    const listed = pools.find((pool) => pool.name === "two hosted");

    expect(listed?.modelCount).toBe(2);
    expect(listed?.backends).toEqual(["openai"]);
  });

  it("rejects a duplicate name with CONFLICT", async () => {
    const error = await rejectionOf(api.caller.pools.create({ name: "two hosted", models: [openaiModel("x")] }));

    expect(error.code).toBe("CONFLICT");
    expect(error.message).toContain('"two hosted" already exists');
  });

  it("rejects a model its backend cannot call", async () => {
    const error = await rejectionOf(
      api.caller.pools.create({ name: "no endpoint", models: [{ name: "m", backend: "vllm_lora", modelName: "llama" }] }),
    );

    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("models[0].endpoint");
    expect(error.message).toContain("models[0].adapterPath");
    expect(await api.db.prisma.pool.count({ where: { name: "no endpoint" } })).toBe(0);
  });

  it("renames a pool", async () => {
    const pool = await api.caller.pools.create({ name: "to rename", models: [openaiModel("m")] });
    const renamed = await api.caller.pools.update({ id: pool.id, name: "renamed" });

    expect(renamed.name).toBe("renamed");
  });

  it("creates a pool from a simulated preset", async () => {
    const pool = await api.caller.pools.createFromPreset({ preset: "complementary", name: "sim" });

    expect(pool.models.map((model) => model.name)).toEqual(["expert-a", "expert-b", "expert-c", "expert-d", "verifier", "weak"]);
    expect(pool.models.every((model) => model.backend === "simulated")).toBe(true);
  });

  it("rejects an unknown preset, naming the known ones", async () => {
    const error = await rejectionOf(api.caller.pools.createFromPreset({ preset: "nope" }));

    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("complementary");
  });

  it("deletes a pool without runs", async () => {
    const pool = await api.caller.pools.create({ name: "to delete", models: [openaiModel("m")] });
    await api.caller.pools.delete({ id: pool.id });

    expect(await api.db.prisma.pool.count({ where: { id: pool.id } })).toBe(0);
    expect(await api.db.prisma.poolModel.count({ where: { poolId: pool.id } })).toBe(0);
  });

  it("rejects deleting a pool that a run used", async () => {
    const pool = await api.caller.pools.createFromPreset({ preset: "homogeneous", name: "used" });
    const task = await api.db.prisma.task.create({ data: { name: "t-used", metric: "exact_match", promptTemplates: {} } });
    await api.db.prisma.run.create({ data: { poolId: pool.id, taskId: task.id, method: "chain", config: {}, seed: 1, status: "completed" } });

    const error = await rejectionOf(api.caller.pools.delete({ id: pool.id }));

    expect(error.code).toBe("CONFLICT");
    expect(error.message).toContain("1 run refers to it");
    expect(await api.db.prisma.pool.count({ where: { id: pool.id } })).toBe(1);
  });

  it("reports an unknown pool as NOT_FOUND", async () => {
    const error = await rejectionOf(api.caller.pools.get({ id: "missing" }));

    expect(error.code).toBe("NOT_FOUND");
  });
});

describe("models", () => {
  it("appends a model at the next index", async () => {
    const pool = await api.caller.pools.create({ name: "grow", models: [openaiModel("a")] });
    const model = await api.caller.models.create({ poolId: pool.id, ...openaiModel("b") });

    expect(model.index).toBe(1);
  });

  it("keeps indices 0..n-1 after a delete", async () => {
    const pool = await api.caller.pools.create({ name: "shrink", models: [openaiModel("a"), openaiModel("b"), openaiModel("c")] });
    await api.caller.models.delete({ id: pool.models[0].id });
    const models = await api.caller.models.list({ poolId: pool.id });

    expect(models.map((model) => [model.index, model.name])).toEqual([
      [0, "b"],
      [1, "c"],
    ]);
  });

  it("sets, keeps and removes an API key", async () => {
    const pool = await api.caller.pools.create({ name: "keys", models: [openaiModel("a")] });
    const id = pool.models[0].id;

    const set = await api.caller.models.update({ id, apiKey: SECRET });
    const kept = await api.caller.models.update({ id, modelName: "other" });
    const removed = await api.caller.models.update({ id, apiKey: null });

    expect(set.hasApiKey).toBe(true);
    expect(kept.hasApiKey).toBe(true);
    expect((await api.db.prisma.poolModel.findUniqueOrThrow({ where: { id } })).modelName).toBe("other");
    expect(removed.hasApiKey).toBe(false);
  });

  it("rejects changing a model while a run of its pool is unfinished", async () => {
    const pool = await api.caller.pools.createFromPreset({ preset: "homogeneous", name: "busy" });
    const task = await api.db.prisma.task.create({ data: { name: "t-busy", metric: "exact_match", promptTemplates: {} } });
    await api.db.prisma.run.create({ data: { poolId: pool.id, taskId: task.id, method: "chain", config: {}, seed: 1, status: "running" } });

    const error = await rejectionOf(api.caller.models.update({ id: pool.models[0].id, name: "renamed" }));

    expect(error.code).toBe("CONFLICT");
    expect(error.message).toContain("1 run uses it");
  });

  it("returns a sample reply from a simulated model", async () => {
    const pool = await api.caller.pools.createFromPreset({ preset: "complementary", name: "probe" });
    const result = await api.caller.models.testConnection({ id: pool.models[0].id });

    expect(result.ok).toBe(true);
    expect(result.ok ? result.reply : "").toMatch(/answer is/i);
  });

  it("reports an unreachable openai endpoint", async () => {
    const pool = await api.caller.pools.create({ name: "probe hosted", models: [{ ...openaiModel("a"), endpoint: "http://127.0.0.1:9/v1" }] });
    const result = await api.caller.models.testConnection({ id: pool.models[0].id });

    expect(result.ok).toBe(false);
    expect(result.message).toContain("connection failed");
    expect(result.message).toContain("http://127.0.0.1:9/v1");
  });

  it("accepts a simulated model with its own parameters", async () => {
    const pool = await api.caller.pools.create({
      name: "custom sim",
      models: [{ name: "mine", backend: "simulated", modelName: "mine", simulatedParams: { skills: [0.9, 0.1], trust: 0.2, verify: 0.5, verbosity: 0.3 } }],
    });
    const result = await api.caller.models.testConnection({ id: pool.models[0].id });

    expect(pool.models[0].weightCapable).toBe(true);
    expect(result.ok).toBe(true);
  });
});

describe("API keys", () => {
  it("never appear in any output", async () => {
    const pool = await api.caller.pools.create({ name: "secret pool", models: [openaiModel("keyed", SECRET)] });
    const added = await api.caller.models.create({ poolId: pool.id, ...openaiModel("also keyed", SECRET) });
    const updated = await api.caller.models.update({ id: added.id, apiKey: SECRET, name: "still keyed" });

    const outputs = [
      pool,
      added,
      updated,
      await api.caller.pools.list(),
      await api.caller.pools.get({ id: pool.id }),
      await api.caller.pools.update({ id: pool.id, name: "secret pool 2" }),
      await api.caller.models.list({ poolId: pool.id }),
      await api.caller.models.testConnection({ id: added.id }),
      await api.caller.systems.list(),
    ];

    expect(JSON.stringify(outputs)).not.toContain(SECRET);
    expect(updated.hasApiKey).toBe(true);
    expect((await api.db.prisma.poolModel.findUniqueOrThrow({ where: { id: added.id } })).apiKey).toBe(SECRET);
  });
});

describe("error mapping", () => {
  it("turns invalid input into BAD_REQUEST naming the field", async () => {
    const error = await rejectionOf(api.caller.pools.create({ name: "", models: [] }));

    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("name:");
    expect(error.message).toContain("models:");
  });

  it("hides context failures from HTTP clients", async () => {
    const server = createHTTPServer({
      router: appRouter,
      createContext: () => {
        throw new Error("connection refused at 10.0.0.7:5432 password=hunter2");
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;

    try {
      const response = await fetch(`http://127.0.0.1:${port}/pools.list`);
      const body = await response.text();

      expect(response.status).toBe(500);
      expect(body).toContain(INTERNAL_ERROR_MESSAGE);
      expect(body).not.toContain("hunter2");
      expect(body).not.toContain("stack");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("hides the details of an unexpected error", async () => {
    const failing = createCaller({
      ...api.context,
      prisma: new Proxy(api.db.prisma, {
        get(target, property, receiver) {
          if (property === "pool") throw new Error("connection refused at 10.0.0.7:5432 password=hunter2");
          return Reflect.get(target, property, receiver);
        },
      }),
    });

    const error = await rejectionOf(failing.pools.list());

    expect(error.code).toBe("INTERNAL_SERVER_ERROR");
    expect(error.message).toContain(INTERNAL_ERROR_MESSAGE);
    expect(error.message).not.toContain("hunter2");
    expect(error.message).not.toContain("10.0.0.7");
  });
});
