"use client";

import { memo, useMemo, useState } from "react";
import { DagView, RoleLegend } from "../dag-view";
import { drawnSystemKey } from "../data/dag-layout";
import { formatUtility } from "../data/format";
import type { BestSystemShape } from "../data/types";

export interface BestDagReplayProps {
  /** Best system after each step. */
  bests: readonly (BestSystemShape | null)[];
  stepLabels: readonly string[];
  /** Pool model names, by model index. */
  names: readonly string[];
}

/** Memoized, so that a step that leaves the drawn system as it was does not render React Flow again. */
const StableDagView = memo(DagView);

/**
 * Shows the all-time best DAG with a slider that replays it step by step. The view follows the
 * latest step until the user moves the slider.
 */
export function BestDagReplay({ bests, stepLabels, names }: BestDagReplayProps) {
  const [picked, setPicked] = useState<number | null>(null);
  const last = bests.length - 1;
  const index = picked === null ? last : Math.min(picked, last);
  const best = index >= 0 ? bests[index] : null;

  // Every step carries its own copy of the best system, so the copy drawn last is kept while
  // the drawing stays the same, and the DAG is not laid out again.
  const key = best === null ? "" : drawnSystemKey(best);
  const drawn = useMemo(() => best, [key]);
  const modelNames = useMemo(() => drawn?.assignment.map((model) => names[model] ?? `model ${model}`) ?? [], [drawn, names]);

  if (last < 0) return <p className="muted">No step yet.</p>;

  return (
    <div>
      <div className="slider">
        <label htmlFor="replay-step" style={{ margin: 0 }}>
          step
        </label>
        <input
          id="replay-step"
          type="range"
          min={0}
          max={last}
          value={index}
          onChange={(e) => {
            const value = Number(e.target.value);
            setPicked(value === last ? null : value);
          }}
        />
        <span data-testid="replay-label" style={{ minWidth: 110 }}>
          {stepLabels[index]} ({index + 1}/{last + 1})
        </span>
        {picked !== null && (
          <button type="button" onClick={() => setPicked(null)}>
            Follow latest
          </button>
        )}
      </div>
      {best === null ? (
        <p className="muted">No system evaluated yet at this step.</p>
      ) : (
        <>
          <p className="note" style={{ marginTop: 0 }}>
            dev utility <strong>{formatUtility(best.dev)}</strong>, found at step {best.step}
            {best.kind === "vote" ? " · majority vote: every position answers alone" : ""}
            {best.adjacency === null && best.kind === "dag" ? " · adjacency unknown, edges drawn uniform" : " · edge width and opacity: A_uv"}
          </p>
          <StableDagView dag={(drawn ?? best).dag} names={modelNames} adjacency={(drawn ?? best).adjacency} vote={best.kind === "vote"} />
          <RoleLegend />
        </>
      )}
    </div>
  );
}
