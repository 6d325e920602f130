import { describe, expect, it } from "vitest";
import { compareCsv, wallSeconds, type CompareRun } from "../../components/data/compare";
import { csvField, toCsv } from "../../components/data/csv";

describe("csvField", () => {
  it("leaves plain text and numbers unquoted", () => {
    expect(csvField("mmlu")).toBe("mmlu");
    expect(csvField(0.25)).toBe("0.25");
    expect(csvField(-0.05)).toBe("-0.05");
  });

  it("quotes commas, quotes and line breaks", () => {
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("line\nbreak")).toBe('"line\nbreak"');
    expect(csvField("cr\rhere")).toBe('"cr\rhere"');
  });

  it("quotes leading and trailing spaces", () => {
    expect(csvField(" padded ")).toBe('" padded "');
  });

  it("writes empty fields for missing and non-finite values", () => {
    expect(csvField(null)).toBe("");
    expect(csvField(undefined)).toBe("");
    expect(csvField(Number.NaN)).toBe("");
  });

  it("defuses text that a spreadsheet would run as a formula", () => {
    expect(csvField("=SUM(A1)")).toBe("'=SUM(A1)");
    expect(csvField("-1+2")).toBe("'-1+2");
    expect(csvField("@cmd")).toBe("'@cmd");
  });
});

describe("toCsv", () => {
  it("writes a header and CRLF-terminated rows", () => {
    const csv = toCsv(
      [
        { header: "name", value: (r: { name: string; n: number }) => r.name },
        { header: "n", value: (r: { name: string; n: number }) => r.n },
      ],
      [{ name: "x,y", n: 1 }],
    );

    expect(csv).toBe('name,n\r\n"x,y",1\r\n');
  });
});

describe("compareCsv", () => {
  const run: CompareRun = {
    id: "r1",
    task: "mmlu, pro",
    pool: "complementary",
    method: "heterogeneous-swarms",
    seed: 1,
    status: "completed",
    bestDev: 0.7,
    bestTest: 0.65,
    backendCalls: 1200,
    cacheHits: 800,
    wallSeconds: 42.5,
    cGain: -0.02,
    simulated: true,
  };

  it("has one line per run after the header", () => {
    const lines = compareCsv([run, { ...run, id: "r2" }]).trimEnd().split("\r\n");

    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe("run,task,pool,method,seed,status,best_dev,best_test,backend_calls,cache_hits,wall_seconds,c_gain,simulated");
    expect(lines[1]).toBe('r1,"mmlu, pro",complementary,heterogeneous-swarms,1,completed,0.7,0.65,1200,800,42.5,-0.02,true');
  });

  it("leaves unknown results empty", () => {
    const line = compareCsv([{ ...run, bestTest: null, wallSeconds: null, cGain: null }]).split("\r\n")[1];

    expect(line).toBe('r1,"mmlu, pro",complementary,heterogeneous-swarms,1,completed,0.7,,1200,800,,,true');
  });
});

describe("wallSeconds", () => {
  it("is the time between start and finish", () => {
    expect(wallSeconds("2025-01-01T00:00:00Z", "2025-01-01T00:01:30Z")).toBe(90);
  });

  it("is null while unfinished", () => {
    expect(wallSeconds("2025-01-01T00:00:00Z", null)).toBeNull();
  });
});
