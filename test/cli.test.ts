import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { DATASETS_DIR, HAVE_DATASETS, syntheticTask } from "./helpers/engine";

const run = promisify(execFile);
const root = path.resolve(__dirname, "..");
const workDir = mkdtempSync(path.join(os.tmpdir(), "hswarm-cli-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

async function hswarm(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(path.join(root, "node_modules/.bin/tsx"), [path.join(root, "server/cli/main.ts"), ...args], { cwd: root });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

/** Starts the CLI, sends SIGINT once the first progress line appears, and waits for the exit. */
function interruptAfterFirstStep(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "server/cli/main.ts"), ...args], { cwd: root });
    let stderr = "";
    let sent = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (!sent && chunk.toString().includes("init")) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

const taskFile = path.join(workDir, "task.json");
writeFileSync(taskFile, JSON.stringify(syntheticTask(20, 20)));
// A larger task for the interrupt test, so that the run is still going when SIGINT arrives.
const largeTaskFile = path.join(workDir, "large-task.json");
writeFileSync(largeTaskFile, JSON.stringify(syntheticTask(300, 20)));
const quick = ["--graphs", "4", "--assignments", "3", "--max-iterations", "2"];

describe("hswarm search", () => {
  it("prints a progress line per step and a summary", async () => {
    const { stdout, code } = await hswarm(["search", "--task", taskFile, "--pool", "complementary", "--seed", "1", ...quick]);

    expect(code).toBe(0);
    expect(stdout).toMatch(/\[ {2}1\/\d+\] {2}iter {2}0 {2}init/);
    expect(stdout).toMatch(/cache hits \d+\.\d%/);
    expect(stdout).toMatch(/ETA/);
    expect(stdout).toMatch(/Best system .*dev \d\.\d{4}, test \d\.\d{4}/);
    expect(stdout).toMatch(/DAG: .*→/);
    expect(stdout).toMatch(/JFK-scores: expert-a \d/);
    expect(stdout).toMatch(/C-Gain \(test\): -?\d/);
    expect(stdout).toMatch(/Best single model: \S+: dev/);
  });

  it("writes byte-identical JSON for the same seed", async () => {
    const first = path.join(workDir, "first.json");
    const second = path.join(workDir, "second.json");
    const third = path.join(workDir, "third.json");
    await hswarm(["search", "--task", taskFile, "--pool", "complementary", "--seed", "5", "--json", first, "--quiet", ...quick]);
    await hswarm(["search", "--task", taskFile, "--pool", "complementary", "--seed", "5", "--json", second, "--quiet", ...quick]);
    await hswarm(["search", "--task", taskFile, "--pool", "complementary", "--seed", "6", "--json", third, "--quiet", ...quick]);

    const result = JSON.parse(readFileSync(first, "utf8"));
    expect(readFileSync(second, "utf8")).toBe(readFileSync(first, "utf8"));
    expect(readFileSync(third, "utf8")).not.toBe(readFileSync(first, "utf8"));
    for (const field of ["dev", "test", "edges", "assignment"]) expect(result.best).toHaveProperty(field);
    for (const field of ["model", "dev", "test"]) expect(result.bestSingle).toHaveProperty(field);
    for (const field of ["backend", "reference", "cacheHits"]) expect(result.calls).toHaveProperty(field);
    expect(typeof result.cGain).toBe("number");
    expect(result.jfk).toHaveLength(6);
    expect(result.config.inertia).toBe(0.4);
    expect(result.config.graphs).toBe(4);
  });

  it("resumes after an interrupt to the same result", async () => {
    const state = path.join(workDir, "state.json");
    const whole = path.join(workDir, "whole.json");
    const resumed = path.join(workDir, "resumed.json");
    const longer = ["--graphs", "6", "--assignments", "6", "--max-iterations", "8", "--patience", "50"];
    await hswarm(["search", "--task", largeTaskFile, "--pool", "complementary", "--seed", "9", "--json", whole, "--quiet", ...longer]);

    const interrupted = await interruptAfterFirstStep(["search", "--task", largeTaskFile, "--pool", "complementary", "--seed", "9", "--save-state", state, ...longer]);
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain("--resume");
    const saved = JSON.parse(readFileSync(state, "utf8"));
    expect(saved.next).not.toBe("done");

    const { code } = await hswarm(["search", "--task", largeTaskFile, "--pool", "complementary", "--resume", state, "--json", resumed, "--quiet"]);
    expect(code).toBe(0);
    const { calls: resumedCalls, ...resumedRest } = JSON.parse(readFileSync(resumed, "utf8"));
    const { calls: wholeCalls, ...wholeRest } = JSON.parse(readFileSync(whole, "utf8"));
    expect(resumedRest).toEqual(wholeRest);
    expect(resumedCalls.reference).toBe(wholeCalls.reference);
  });

  it("rejects an invalid hyperparameter by flag", async () => {
    const { stderr, code } = await hswarm(["search", "--task", taskFile, "--pool", "complementary", "--inertia", "-1"]);

    expect(code).toBe(2);
    expect(stderr).toContain("--inertia");
  });

  it("rejects an unknown pool by name", async () => {
    const { stderr, code } = await hswarm(["search", "--task", taskFile, "--pool", "nonexistent"]);

    expect(code).toBe(2);
    expect(stderr).toContain('pool "nonexistent"');
    expect(stderr).toContain("complementary");
  });

  it("names the line of a broken task file", async () => {
    const broken = path.join(workDir, "broken.jsonl");
    writeFileSync(broken, '{"split":"dev","question":"q","answer":"1"}\n{"split":"dev","question":\n');
    const { stderr, code } = await hswarm(["search", "--task", broken, "--pool", "complementary"]);

    expect(code).toBe(1);
    expect(stderr).toMatch(/line 2/);
  });

  it.skipIf(!HAVE_DATASETS)("runs a baseline method on a paper file", async () => {
    const out = path.join(workDir, "chain.json");
    const { code } = await hswarm(["search", "--task", path.join(DATASETS_DIR, "abkg.json"), "--pool", "complementary", "--method", "chain", "--json", out, "--quiet"]);

    const result = JSON.parse(readFileSync(out, "utf8"));
    expect(code).toBe(0);
    expect(result.method).toBe("chain");
    expect(result.best.edges).toEqual([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]);
  });
});

describe("hswarm search flags", () => {
  it("accepts a negative number as a flag value", async () => {
    const { stderr, code } = await hswarm(["search", "--task", taskFile, "--pool", "complementary", "--edge-threshold", "-0.5", "--decode-mode", "dag", "--quiet", ...quick]);

    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("rejects a non-numeric value as a usage error", async () => {
    const { stderr, code } = await hswarm(["search", "--task", taskFile, "--pool", "complementary", "--inertia", "abc"]);

    expect(code).toBe(2);
    expect(stderr).toContain('--inertia must be a number, but got "abc"');
  });
});
