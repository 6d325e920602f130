import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LISTENER_APPLICATION_NAME, RunEventListener, type RunEventSubscriber } from "../../server/events/listener";
import { RUN_EVENTS_CHANNEL, type RunNotification } from "../../server/runs/contracts";
import { createTestDatabase, silentLogger, type TestDatabase } from "../setup/database";

let db: TestDatabase;
let listener: RunEventListener | undefined;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});

afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

afterAll(async () => {
  await db?.drop();
});

async function notify(payload: unknown): Promise<void> {
  const text = typeof payload === "string" ? payload : JSON.stringify(payload);
  await db.prisma.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${text})`;
}

/** Creates a subscriber that records what it receives and lets a test wait for the next call. */
function recorder() {
  const notifications: RunNotification[] = [];
  let resyncs = 0;
  let wake: () => void = () => undefined;
  const subscriber: RunEventSubscriber = {
    onNotification(notification) {
      notifications.push(notification);
      wake();
    },
    onResync() {
      resyncs++;
      wake();
    },
  };
  return {
    subscriber,
    notifications,
    resyncs: () => resyncs,
    /** Resolves when the condition holds, re-checking after every call. */
    async until(condition: () => boolean): Promise<void> {
      while (!condition()) await new Promise<void>((resolve) => (wake = resolve));
    },
  };
}

const notification = (runId: string, stepIndex: number | null): RunNotification => ({ runId, stepIndex, status: "running" });

describe("RunEventListener", () => {
  it("delivers each notification to the subscribers of its run only", async () => {
    listener = new RunEventListener(db.url, { logger: silentLogger });
    const first = recorder();
    const other = recorder();
    await listener.subscribe("run-1", first.subscriber);
    await listener.subscribe("run-2", other.subscriber);

    await notify(notification("run-1", 0));
    await notify(notification("run-2", 5));
    await first.until(() => first.notifications.length === 1);
    await other.until(() => other.notifications.length === 1);

    expect(first.notifications).toEqual([notification("run-1", 0)]);
    expect(other.notifications).toEqual([notification("run-2", 5)]);
  });

  it("ignores payloads that do not match the schema", async () => {
    listener = new RunEventListener(db.url, { logger: silentLogger });
    const subscriber = recorder();
    await listener.subscribe("run-1", subscriber.subscriber);

    await notify("not json");
    await notify({ runId: "run-1", stepIndex: "seven", status: "running" });
    await notify(notification("run-1", 7));
    await subscriber.until(() => subscriber.notifications.length > 0);

    expect(subscriber.notifications).toEqual([notification("run-1", 7)]);
  });

  it("stops delivering after unsubscribe", async () => {
    listener = new RunEventListener(db.url, { logger: silentLogger });
    const leaving = recorder();
    const staying = recorder();
    const subscription = await listener.subscribe("run-1", leaving.subscriber);
    await listener.subscribe("run-1", staying.subscriber);

    subscription.unsubscribe();
    await notify(notification("run-1", 1));
    await staying.until(() => staying.notifications.length === 1);

    expect(leaving.notifications).toEqual([]);
    expect(listener.subscriberCount("run-1")).toBe(1);
  });

  it("reconnects after its session is terminated and asks subscribers to resync", async () => {
    listener = new RunEventListener(db.url, { logger: silentLogger, reconnectDelayMs: () => 10 });
    const subscriber = recorder();
    await listener.subscribe("run-1", subscriber.subscriber);

    await db.prisma.$executeRaw`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE application_name = ${LISTENER_APPLICATION_NAME} AND datname = current_database()`;
    await subscriber.until(() => subscriber.resyncs() === 1);
    await notify(notification("run-1", 3));
    await subscriber.until(() => subscriber.notifications.length === 1);

    expect(subscriber.notifications).toEqual([notification("run-1", 3)]);
  });

  it("rejects a subscription when the database cannot be reached", async () => {
    const unreachable = new URL(db.url);
    unreachable.pathname = "/hswarm_no_such_database";
    listener = new RunEventListener(unreachable.toString(), { logger: silentLogger });

    await expect(listener.subscribe("run-1", recorder().subscriber)).rejects.toThrow(/does not exist/);
    expect(listener.subscriberCount("run-1")).toBe(0);
  });
});
