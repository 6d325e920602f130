import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createTRPCClient, httpSubscriptionLink } from "@trpc/client";
import type { TrackedEnvelope } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "../../server/db/client";
import { RUN_EVENTS_CHANNEL, type RunNotification } from "../../server/runs/contracts";
import { createCaller, appRouter, type AppRouter } from "../../server/trpc/root";
import type { RunStreamEvent } from "../../server/trpc/run-stream";
import { createApiHarness, type ApiHarness } from "./context";

let api: ApiHarness;
let server: Server;
let url: string;
let poolId: string;
let taskId: string;

beforeAll(async () => {
  api = await createApiHarness();
  poolId = (await api.caller.pools.createFromPreset({ preset: "homogeneous", name: "stream pool" })).id;
  taskId = (await api.db.prisma.task.create({ data: { name: "stream task", metric: "exact_match", promptTemplates: {} } })).id;

  server = createHTTPServer({ router: appRouter, createContext: () => api.context });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await api?.close();
});

async function createRun(status: "running" | "queued", steps: number): Promise<string> {
  const run = await api.db.prisma.run.create({ data: { poolId, taskId, method: "heterogeneous-swarms", config: {}, seed: 1, status } });
  for (let index = 0; index < steps; index++) await writeStep(api.db.prisma, run.id, index);
  return run.id;
}

/** Writes a step and notifies in one transaction, as the worker does. */
async function writeStep(prisma: PrismaClient, runId: string, index: number): Promise<void> {
  await prisma.$transaction(async (tx) => {
    await tx.runStep.create({ data: { runId, index, kind: index === 0 ? "init" : "role", iteration: index, graphs: [], models: {}, best: {} } });
    await tx.run.update({ where: { id: runId }, data: { callsDone: { increment: 10 } } });
    const notification: RunNotification = { runId, stepIndex: index, status: "running" };
    await tx.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${JSON.stringify(notification)})`;
  });
}

async function finishRun(runId: string, status: "completed" | "failed" | "cancelled"): Promise<void> {
  await api.db.prisma.$transaction(async (tx) => {
    await tx.run.update({ where: { id: runId }, data: { status } });
    const notification: RunNotification = { runId, stepIndex: null, status };
    await tx.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${JSON.stringify(notification)})`;
  });
}

interface ReceivedEvent {
  id: string;
  event: RunStreamEvent;
}

/** Opens a subscription over real SSE that records events and lets a test wait for one. */
function subscribe(input: { runId: string; lastStepIndex?: number }) {
  const client = createTRPCClient<AppRouter>({ links: [httpSubscriptionLink({ url, EventSource })] });
  const received: ReceivedEvent[] = [];
  const waiters: { predicate: (event: ReceivedEvent) => boolean; resolve: () => void }[] = [];
  let resolveCompleted: () => void = () => undefined;
  let rejectCompleted: (error: unknown) => void = () => undefined;
  const completed = new Promise<void>((resolve, reject) => {
    resolveCompleted = resolve;
    rejectCompleted = reject;
  });

  const subscription = client.runs.onEvent.subscribe(input, {
    onData(tracked) {
      const entry = { id: tracked.id, event: tracked.data };
      received.push(entry);
      for (const waiter of waiters.filter((candidate) => candidate.predicate(entry))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    onError: (error) => rejectCompleted(error),
    onComplete: () => resolveCompleted(),
  });

  return {
    received,
    completed,
    stepIndices: () => received.flatMap((entry) => (entry.event.type === "step" ? [entry.event.step.index] : [])),
    /** Resolves once an event matching the predicate arrives (or has arrived). */
    waitFor(predicate: (event: ReceivedEvent) => boolean): Promise<void> {
      if (received.some(predicate)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    close: () => subscription.unsubscribe(),
  };
}

const isStep = (index: number) => (entry: ReceivedEvent) => entry.event.type === "step" && entry.event.step.index === index;
const isStatus = (status: string) => (entry: ReceivedEvent) => entry.event.type === "status" && entry.event.run.status === status;

describe("runs.onEvent over SSE", () => {
  it("sends history then live steps once", async () => {
    const runId = await createRun("running", 2);
    const stream = subscribe({ runId });

    await stream.waitFor(isStatus("running"));
    await writeStep(api.db.prisma, runId, 2);
    await writeStep(api.db.prisma, runId, 3);
    await stream.waitFor(isStep(3));
    await finishRun(runId, "completed");
    await stream.completed;

    expect(stream.stepIndices()).toEqual([0, 1, 2, 3]);
    expect(stream.received.at(-1)?.event).toMatchObject({ type: "status", run: { status: "completed" } });
    expect(stream.received.map((entry) => entry.id).at(-1)).toBe("3");
  });

  it("sends only later steps to a client that passes lastStepIndex", async () => {
    const runId = await createRun("running", 3);
    const stream = subscribe({ runId, lastStepIndex: 1 });

    await stream.waitFor(isStatus("running"));
    await writeStep(api.db.prisma, runId, 3);
    await stream.waitFor(isStep(3));
    await finishRun(runId, "failed");
    await stream.completed;

    expect(stream.stepIndices()).toEqual([2, 3]);
  });

  it("ends at once for a finished run after its history", async () => {
    const runId = await createRun("running", 2);
    await finishRun(runId, "cancelled");
    const stream = subscribe({ runId });

    await stream.completed;

    expect(stream.stepIndices()).toEqual([0, 1]);
    expect(stream.received.filter((entry) => entry.event.type === "status")).toHaveLength(1);
  });

  it("reports progress in status events", async () => {
    const runId = await createRun("running", 1);
    const stream = subscribe({ runId });

    await stream.waitFor(isStatus("running"));
    await writeStep(api.db.prisma, runId, 1);
    await stream.waitFor((entry) => entry.event.type === "status" && entry.event.run.progress.callsDone === 20);
    stream.close();

    expect(stream.stepIndices()).toEqual([0, 1]);
  });
});

describe("runs.onEvent", () => {
  it("resumes after the step named by lastEventId", async () => {
    const runId = await createRun("running", 4);
    await finishRun(runId, "completed");

    const iterable = await createCaller(api.context).runs.onEvent({ runId, lastStepIndex: 0, lastEventId: "2" });
    const events: RunStreamEvent[] = [];
    for await (const value of iterable) events.push(eventOf(value));

    expect(events.flatMap((event) => (event.type === "step" ? [event.step.index] : []))).toEqual([3]);
  });

  it("sends a step committed while the history was read", async () => {
    const runId = await createRun("running", 2);
    let committedDuringRead = false;
    const prisma = new Proxy(api.db.prisma, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property !== "runStep") return typeof value === "function" ? value.bind(target) : value;
        return {
          findMany: async (args: Parameters<PrismaClient["runStep"]["findMany"]>[0]) => {
            const rows = await target.runStep.findMany(args);
            if (!committedDuringRead) {
              // The commit lands after the history query took its snapshot, so only a LISTEN
              // that started before the read notifies the stream of it.
              committedDuringRead = true;
              await writeStep(target, runId, 2);
            }
            return rows;
          },
        };
      },
    });

    const iterable = await createCaller({ ...api.context, prisma }).runs.onEvent({ runId });
    const iterator = iterable[Symbol.asyncIterator]();
    const seen: number[] = [];
    while (!seen.includes(2)) {
      const next = await iterator.next();
      if (next.done) break;
      const event = eventOf(next.value);
      if (event.type === "step") seen.push(event.step.index);
    }
    await iterator.return?.(undefined);

    expect(seen).toEqual([0, 1, 2]);
  });

  it("rejects an unknown run with NOT_FOUND", async () => {
    await expect(createCaller(api.context).runs.onEvent({ runId: "missing" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("unsubscribes from the listener when the client leaves", async () => {
    const runId = await createRun("running", 1);
    const stream = subscribe({ runId });
    await stream.waitFor(isStatus("running"));
    const listener = api.context.runEvents();

    expect(listener.subscriberCount(runId)).toBe(1);
    stream.close();
    await finishRun(runId, "completed");
    await waitUntil(() => listener.subscriberCount(runId) === 0);

    expect(listener.subscriberCount(runId)).toBe(0);
  });
});

/**
 * Returns the event of a value from an in-process caller. Such a caller receives tracked()
 * envelopes ([id, data]) as they were yielded, while SSE clients receive {id, data}.
 */
function eventOf(value: unknown): RunStreamEvent {
  return (value as TrackedEnvelope<RunStreamEvent>)[1];
}

/** Polls a condition until it holds. The test timeout bounds the wait. */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
