"use client";

import { memo, useDeferredValue, useState } from "react";
import { CGainChart } from "../charts/cgain-chart";
import { RoleBars } from "../charts/role-bars";
import { CoefficientHeatmap } from "../coefficient-heatmap";
import { formatCount, formatSigned, formatUtility } from "../data/format";
import { MAX_LINE_POINTS, type ResultView, type RunDashboard } from "../data/run-dashboard";
import { BestDagReplay } from "./best-dag-replay";
import { StepRoleBars, StepSeriesChart } from "./step-charts";

// Charts that take no step-indexed data are memoized here, so that a step that leaves their
// data unchanged does not draw them again.
const StableRoleBars = memo(RoleBars);
const StableHeatmap = memo(CoefficientHeatmap);
const StableBestDagReplay = memo(BestDagReplay);

const GRAPH_SIDE_EMPHASIS = ["bestDev", "globalBest"];
const MODEL_SIDE_EMPHASIS = ["bestDev", "bestAssignment"];

export interface RunDashboardViewProps {
  dashboard: RunDashboard;
  /** Pool model names, by model index. */
  names: readonly string[];
  result: ResultView | null;
  /** Model whose roles the over-iterations chart shows; null for all positions. */
  roleModel: number | null;
  onRoleModelChange: (model: number | null) => void;
  /** True while the stored steps are loading: step charts show empty axes instead of "no data". */
  loading?: boolean;
}

/**
 * Draws the charts of one run from the values buildRunDashboard computed. Memoized, because the
 * run page re-renders every second for the elapsed time while the charts stay the same.
 */
export const RunDashboardView = memo(function RunDashboardView({ dashboard, names, result, roleModel, onRoleModelChange, loading = false }: RunDashboardViewProps) {
  const [coefficientView, setCoefficientView] = useState<"best" | "current">("current");
  // The sections below the first screen draw a deferred copy of the dashboard: React paints the
  // utility charts and the best DAG first, then draws the rest in a background render. For a
  // 401-step run, bench/ui.ts measured the first screen about 150 ms before the rest (2 CPUs).
  const lower = useDeferredValue(dashboard);
  const lowerLoading = useDeferredValue(loading);
  const heatmap = coefficientView === "best" ? lower.bestCoefficients : lower.currentCoefficients;

  return (
    <div className="stack" data-testid="run-dashboard" data-last-step={dashboard.lastStepIndex ?? -1}>
      {result && <FinalResult result={result} />}

      <div className="grid grid-2">
        <section className="card" data-testid="graph-utility">
          <h2>Utility: graph side</h2>
          <StepSeriesChart series={dashboard.graphSide} emphasised={GRAPH_SIDE_EMPHASIS} yLabel="dev utility" loading={loading} />
          <p className="note">Each graph particle&apos;s decoded DAG with the identity assignment, per init and role-step.</p>
          {dashboard.graphSide.buckets && <DownsampledNote />}
        </section>
        <section className="card" data-testid="model-utility">
          <h2>Utility: model side</h2>
          <StepSeriesChart series={dashboard.modelSide} emphasised={MODEL_SIDE_EMPHASIS} yLabel="dev utility" empty="No weight-step yet." loading={loading} />
          <p className="note">The M random assignments on the iteration&apos;s best graph, per init and weight-step.</p>
          {dashboard.modelSide.buckets && <DownsampledNote />}
        </section>
      </div>

      <section className="card" data-testid="best-dag">
        <h2>Best system</h2>
        <StableBestDagReplay bests={dashboard.bests} stepLabels={dashboard.stepLabels} names={names} />
      </section>

      <div className="stack" data-testid="run-dashboard-lower" data-lower-last-step={lower.lastStepIndex ?? -1}>
        {/* A heatmap of more than eight experts is wider than a half-width card, so both cards then take the full width. */}
        <div className={names.length > 8 ? "stack" : "grid grid-2"}>
          <section className="card" data-testid="jfk">
            <h2>JFK-scores</h2>
            <StepSeriesChart series={lower.jfk} yLabel="JFK-score" empty="No JFK-scores yet." loading={lowerLoading} />
            {lower.jfk.buckets && <DownsampledNote />}
            {lower.jfk.carriedOver.length > 0 && (
              <p className="note">
                Not drawn in any assignment, so the previous score was kept:{" "}
                {lower.jfk.carriedOver.map((entry) => `${entry.model} (${entry.steps.join(", ")})`).join("; ")}.
              </p>
            )}
          </section>
          <section className="card">
            <div className="card-head">
              <h2>Weight coefficients</h2>
              <select aria-label="coefficients shown" value={coefficientView} onChange={(e) => setCoefficientView(e.target.value as "best" | "current")}>
                <option value="current">model particles, latest step</option>
                <option value="best">best system</option>
              </select>
            </div>
            <div style={{ overflowX: "auto" }}>{heatmap ? <StableHeatmap heatmap={heatmap} /> : <p className="muted">No coefficients recorded yet.</p>}</div>
            <p className="note">Model i&apos;s weights are Σ_k c_ik·e_k over the experts&apos; adapters; a model starts at c = one-hot(i).</p>
          </section>
        </div>

        <div className="grid grid-2">
          <section className="card" data-testid="roles-per-model">
            <h2>Roles per model</h2>
            <StableRoleBars rows={lower.rolesPerModel} />
            <p className="note">Structural roles each model took, counted over every DAG the search decoded.</p>
          </section>
          <section className="card" data-testid="roles-over-steps">
            <div className="card-head">
              <h2>Roles over iterations</h2>
              <select
                aria-label="model"
                value={roleModel === null ? "" : String(roleModel)}
                onChange={(e) => onRoleModelChange(e.target.value === "" ? null : Number(e.target.value))}
              >
                <option value="">all models</option>
                {names.map((name, i) => (
                  <option key={name} value={i}>
                    {name}
                  </option>
                ))}
              </select>
            </div>
            <StepRoleBars data={lower.rolesOverSteps} loading={lowerLoading} />
            {lower.rolesOverSteps.buckets && <p className="note">Each bar is the mean count per step over the steps it spans; its tooltip lists them.</p>}
          </section>
        </div>

        <section className="card" data-testid="cgain">
          <div className="card-head">
            <h2>Collaborative gain</h2>
            {result && (
              <span>
                C-Gain <strong>{formatSigned(result.cGain)}</strong>
              </span>
            )}
          </div>
          <CGainChart bars={lower.cGainBars} />
          <p className="note">
            Test items bucketed by k, the number of models that solve them alone. A system that did no better than a random single model would
            reach k/n; C-Gain = Σ_k (|B_k|/|D|)·(acc_k − k/n).
          </p>
        </section>
      </div>
    </div>
  );
});

function DownsampledNote() {
  return (
    <p className="note">
      More than {MAX_LINE_POINTS} steps, so each point is the mean of consecutive steps (the maximum for running bests). Its tooltip lists the
      steps and each value&apos;s range.
    </p>
  );
}

function FinalResult({ result }: { result: ResultView }) {
  return (
    <section className="card" data-testid="final-result">
      <h2>Result</h2>
      <div className="grid grid-3">
        <div>
          <div className="muted">best system, dev</div>
          <div className="big-number">{formatUtility(result.bestDev)}</div>
        </div>
        <div>
          <div className="muted">best system, test</div>
          <div className="big-number">{formatUtility(result.bestTest)}</div>
        </div>
        <div>
          <div className="muted">best single model ({result.bestSingle.model}), test</div>
          <div className="big-number">{formatUtility(result.bestSingle.test)}</div>
        </div>
      </div>
      <dl className="kv" style={{ marginTop: 12 }}>
        <dt>backend calls</dt>
        <dd>
          {formatCount(result.calls.backend)} ({formatCount(result.calls.cacheHits)} cache hits; the reference algorithm would make{" "}
          {formatCount(result.calls.reference)})
        </dd>
        <dt>iterations</dt>
        <dd>{result.iterations}</dd>
        <dt>stopped by</dt>
        <dd>{result.stopReason ?? "—"}</dd>
      </dl>
      {result.singles.length > 0 && (
        <table style={{ marginTop: 12 }}>
          <thead>
            <tr>
              <th>model alone</th>
              <th className="num">dev, expert weights</th>
              <th className="num">test, weights in the best system</th>
            </tr>
          </thead>
          <tbody>
            {result.singles.map((single) => (
              <tr key={single.model}>
                <td>{single.model}</td>
                <td className="num">{formatUtility(single.dev)}</td>
                <td className="num">{formatUtility(single.test)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
