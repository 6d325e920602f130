import { describe, expect, it } from "vitest";
import { formatDuration } from "../../components/data/format";
import { computeProgress, type ProgressInput } from "../../components/data/progress";

const running: ProgressInput = {
  status: "running",
  iteration: 2,
  maxIterations: 20,
  callsDone: 100,
  callsExpected: 400,
  cacheHits: 300,
  startedAt: 0,
  finishedAt: null,
  now: 50_000,
};

describe("computeProgress", () => {
  it("measures progress in calls against the estimate", () => {
    const progress = computeProgress(running);

    expect(progress.fraction).toBe(0.25);
    expect(progress.callsText).toBe("100 / 400");
    expect(progress.iterationText).toBe("2 / 20");
  });

  it("counts cache hits over all requests", () => {
    expect(computeProgress(running).cacheHitRate).toBe(0.75);
  });

  it("has no cache hit rate before the first request", () => {
    expect(computeProgress({ ...running, callsDone: 0, cacheHits: 0 }).cacheHitRate).toBeNull();
  });

  it("extrapolates the remaining time from the call rate", () => {
    // 100 calls in 50 s, 300 left.
    expect(computeProgress(running).etaSeconds).toBe(150);
  });

  it("has no ETA before the first call or once paused", () => {
    expect(computeProgress({ ...running, callsDone: 0 }).etaSeconds).toBeNull();
    expect(computeProgress({ ...running, status: "paused" }).etaSeconds).toBeNull();
  });

  it("is full and without ETA once completed", () => {
    const progress = computeProgress({ ...running, status: "completed", finishedAt: 80_000, now: 999_000 });

    expect(progress.fraction).toBe(1);
    expect(progress.etaSeconds).toBeNull();
    expect(progress.elapsedSeconds).toBe(80);
  });

  it("caps the fraction when the estimate was low", () => {
    expect(computeProgress({ ...running, callsDone: 500 }).fraction).toBe(1);
  });

  it("shows an unknown estimate as a question mark", () => {
    const progress = computeProgress({ ...running, callsExpected: 0 });

    expect(progress.callsText).toBe("100 / ?");
    expect(progress.fraction).toBe(0);
    expect(progress.etaSeconds).toBeNull();
  });
});

describe("formatDuration", () => {
  it("formats seconds, minutes and hours", () => {
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(200)).toBe("3 min 20 s");
    expect(formatDuration(120)).toBe("2 min");
    expect(formatDuration(7500)).toBe("2 h 05 min");
  });

  it("shows a dash for an unknown duration", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(-1)).toBe("—");
  });
});
