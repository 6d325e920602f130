import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { GenerationRequest } from "../server/core/types";
import { GenerationCache } from "../server/llm/cache";
import { EndpointLimiters } from "../server/llm/limiter";
import { OpenAIBackend, openaiModelConfig } from "../server/llm/openai";
import type { FakeOpenAIOptions } from "../test/llm/fake-openai-server";
import type { FakeProcessStats } from "../test/llm/fake-openai-process";
import { printTable } from "./table";

// Scheduling benchmark: how close the openai backend, behind the generation cache, comes to the
// throughput that an endpoint with a fixed latency L and a concurrency limit K allows, K / L.
// The endpoint is the fake OpenAI-compatible server on 127.0.0.1. It runs in a child process, as
// a real server would, so that it does not share this process's event loop. Every call has a
// distinct prompt, so each one reaches the server.
//
// NOTE: each call also pays the HTTP round trip on top of L. On 127.0.0.1 on a 2-core machine
// shared with other work, a lone call with L = 50 ms took about 52-53 ms (measured with this
// fake), which alone bounds the ratio near 0.95.

const FAKE_PROCESS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../test/llm/fake-openai-process.ts");

const LATENCY_MS = 50;
const CALLS = 400;
const LIMITS = [4, 8, 16];
/** The throughput, as a share of K / L, that the summary reports as met. */
const TARGET_RATIO = 0.9;

interface Measurement {
  limit: number;
  seconds: number;
  callsPerSecond: number;
  ideal: number;
  ratio: number;
  maxInFlight: number;
}

/** Sends CALLS calls at each limit in LIMITS and prints the throughput against K / L. Throws if a call fails or a limit is broken. */
export async function schedulingBenchmark(): Promise<void> {
  console.log(`\nscheduling: ${CALLS} distinct calls (timed, after K untimed ones) through the generation cache and the openai backend to a fake endpoint with ${LATENCY_MS} ms latency`);
  const measurements: Measurement[] = [];
  for (const limit of LIMITS) measurements.push(await measure(limit));

  printTable(
    null,
    measurements.map((m) => ({
      "K (limit)": m.limit,
      "L (ms)": LATENCY_MS,
      calls: CALLS,
      "wall (s)": m.seconds.toFixed(2),
      "calls/s": m.callsPerSecond.toFixed(1),
      "ideal K/L": m.ideal.toFixed(1),
      ratio: m.ratio.toFixed(3),
      "max in flight": m.maxInFlight,
    })),
  );

  const worst = measurements.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  const verdict = worst.ratio >= TARGET_RATIO ? "meets" : "misses";
  console.log(`scheduling: worst ratio ${worst.ratio.toFixed(3)} of ideal (K = ${worst.limit}), ${verdict} the target of ${TARGET_RATIO}`);
}

async function measure(limit: number): Promise<Measurement> {
  const fake = await startFakeProcess({ latencyMs: LATENCY_MS });
  try {
    const config = openaiModelConfig({
      index: 0,
      name: "bench",
      endpoint: fake.baseURL,
      modelName: "fake-model",
      apiKey: null,
      generationSettings: { concurrency: limit, maxAttempts: 1 },
    });
    const backend = new OpenAIBackend([config], { limiters: new EndpointLimiters() });
    const cache = new GenerationCache(backend);
    const settings = { temperature: 0, maxTokens: 16, topP: 1 };
    const request = (i: number): GenerationRequest => ({
      model: 0,
      coefficients: null,
      prompt: `Benchmark question ${i}: which option is correct?`,
      settings,
      item: { question: `q${i}`, answer: "A" },
      previousResponses: [],
    });

    // One untimed round opens the K connections and warms up both processes.
    await Promise.all(Array.from({ length: limit }, (_, i) => cache.generate(request(CALLS + i))));

    const started = performance.now();
    await Promise.all(Array.from({ length: CALLS }, (_, i) => cache.generate(request(i))));
    const seconds = (performance.now() - started) / 1000;

    const usage = cache.usage();
    const stats = await fake.stats();
    const expected = CALLS + limit;
    if (usage.backendCalls !== expected) throw new Error(`scheduling: expected ${expected} backend calls at K = ${limit}, but the cache counted ${usage.backendCalls}`);
    if (stats.completionRequests !== expected) {
      throw new Error(`scheduling: expected ${expected} requests at the endpoint at K = ${limit}, but it received ${stats.completionRequests}`);
    }
    if (stats.maxInFlight > limit) throw new Error(`scheduling: the endpoint saw ${stats.maxInFlight} requests in flight, above the limit K = ${limit}`);

    const callsPerSecond = CALLS / seconds;
    const ideal = limit / (LATENCY_MS / 1000);
    return { limit, seconds, callsPerSecond, ideal, ratio: callsPerSecond / ideal, maxInFlight: stats.maxInFlight };
  } finally {
    await fake.close();
  }
}

interface FakeProcess {
  baseURL: string;
  stats(): Promise<FakeProcessStats>;
  close(): Promise<void>;
}

/** Starts test/llm/fake-openai-process.ts as `node --import tsx` with an IPC channel. */
async function startFakeProcess(options: FakeOpenAIOptions): Promise<FakeProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", FAKE_PROCESS, JSON.stringify(options)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const nextMessage = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: { type?: string }) => {
        if (message.type !== type) return;
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve(message as T);
      };
      const onExit = (code: number | null) => reject(new Error(`scheduling: the fake endpoint process exited with code ${code} before sending "${type}"`));
      child.on("message", onMessage);
      child.once("exit", onExit);
    });

  const { baseURL } = await nextMessage<{ baseURL: string }>("ready");
  return {
    baseURL,
    stats: () => {
      const reply = nextMessage<FakeProcessStats>("stats");
      child.send({ type: "stats" });
      return reply;
    },
    close: async () => {
      child.send({ type: "close" });
      await exited;
    },
  };
}

