import { describe, expect, it } from "vitest";
import { cGainBars, cGainFromBuckets } from "../../components/data/cgain";
import { coefficientHeatmap, divergingColor } from "../../components/data/coefficients";
import { domainHistogram, NO_DOMAIN } from "../../components/data/histogram";

describe("divergingColor", () => {
  it("is white at zero", () => {
    expect(divergingColor(0, 1)).toBe("rgb(255, 255, 255)");
  });

  it("is full red at +maxAbs and full blue at -maxAbs", () => {
    expect(divergingColor(2, 2)).toBe("rgb(220, 38, 38)");
    expect(divergingColor(-2, 2)).toBe("rgb(37, 99, 235)");
  });

  it("clamps values beyond the scale", () => {
    expect(divergingColor(5, 1)).toBe(divergingColor(1, 1));
  });

  it("fades halfway at half the scale", () => {
    expect(divergingColor(0.5, 1)).toBe("rgb(238, 147, 147)");
  });
});

describe("coefficientHeatmap", () => {
  it("makes one cell per expert for movable models and none for fixed ones", () => {
    const heatmap = coefficientHeatmap([[1, 0], null], ["a", "b"]);

    expect(heatmap.rows[0].cells.map((c) => c.value)).toEqual([1, 0]);
    expect(heatmap.rows[1].cells).toEqual([]);
    expect(heatmap.movableModels).toEqual(["a"]);
    expect(heatmap.fixedModels).toEqual(["b"]);
  });

  it("scales colours to the largest magnitude, at least one", () => {
    expect(coefficientHeatmap([[0.5, 0]], ["a"]).maxAbs).toBe(1);
    expect(coefficientHeatmap([[1.5, -2]], ["a"]).maxAbs).toBe(2);
  });

  it("labels expert columns by the model that started with them", () => {
    const heatmap = coefficientHeatmap([[1, 0]], ["a", "b"]);

    expect(heatmap.experts).toEqual([
      { label: "e0", model: "a" },
      { label: "e1", model: "b" },
    ]);
  });

  it("writes white text on saturated cells", () => {
    const cells = coefficientHeatmap([[1, 0.1]], ["a", "b"]).rows[0].cells;

    expect(cells[0].textColor).toBe("#ffffff");
    expect(cells[1].textColor).not.toBe("#ffffff");
  });
});

describe("cGainBars", () => {
  const buckets = [
    { k: 0, items: 4, solved: 0, accuracy: 0, expected: 0 },
    { k: 1, items: 0, solved: 0, accuracy: null, expected: 0.5 },
    { k: 2, items: 6, solved: 6, accuracy: 1, expected: 1 },
  ];

  it("splits each bucket into solved and unsolved", () => {
    const bars = cGainBars(buckets);

    expect(bars[0]).toMatchObject({ k: 0, solved: 0, unsolved: 4 });
    expect(bars[2]).toMatchObject({ solved: 6, unsolved: 0 });
  });

  it("labels each bucket with its counts, which recharts does not draw for zero", () => {
    expect(cGainBars(buckets)[0].label).toBe("k=0 · 0/4");
  });

  it("leaves the accuracy of an empty bucket absent", () => {
    expect("accuracy" in cGainBars(buckets)[1]).toBe(false);
    expect(cGainBars(buckets)[1].expected).toBe(0.5);
  });

  it("recomputes C-Gain from the buckets", () => {
    const gain = cGainFromBuckets([
      { k: 0, items: 2, solved: 1, accuracy: 0.5, expected: 0 },
      { k: 1, items: 2, solved: 1, accuracy: 0.5, expected: 0.5 },
    ]);

    expect(gain).toBeCloseTo(0.25);
  });

  it("is zero without items", () => {
    expect(cGainFromBuckets([])).toBe(0);
  });
});

describe("domainHistogram", () => {
  it("counts per domain and split, largest first", () => {
    const bars = domainHistogram([
      { split: "dev", domain: "law" },
      { split: "test", domain: "math" },
      { split: "dev", domain: "math" },
    ]);

    expect(bars).toEqual([
      { domain: "math", label: "math (2)", dev: 1, test: 1, total: 2 },
      { domain: "law", label: "law (1)", dev: 1, test: 0, total: 1 },
    ]);
  });

  it("counts items without a domain together", () => {
    const bars = domainHistogram([
      { split: "dev", domain: null },
      { split: "dev", domain: "" },
    ]);

    expect(bars).toEqual([{ domain: NO_DOMAIN, label: `${NO_DOMAIN} (2)`, dev: 2, test: 0, total: 2 }]);
  });

  it("adds up grouped counts", () => {
    const bars = domainHistogram([
      { split: "dev", domain: "law", count: 5 },
      { split: "test", domain: "law", count: 2 },
    ]);

    expect(bars[0]).toMatchObject({ dev: 5, test: 2, total: 7 });
  });
});
