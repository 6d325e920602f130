"use client";

import { useState } from "react";
import { CGainChart } from "../charts/cgain-chart";
import { RoleBars } from "../charts/role-bars";
import { SeriesChart } from "../charts/series-chart";
import { CoefficientHeatmap } from "../coefficient-heatmap";
import { formatCount, formatSigned, formatUtility } from "../data/format";
import type { ResultView, RunDashboard } from "../data/run-dashboard";
import { BestDagReplay } from "./best-dag-replay";

export interface RunDashboardViewProps {
  dashboard: RunDashboard;
  /** Pool model names, by model index. */
  names: readonly string[];
  result: ResultView | null;
  /** Model whose roles the over-iterations chart shows; null for all positions. */
  roleModel: number | null;
  onRoleModelChange: (model: number | null) => void;
}

/** Draws the charts of one run from the values buildRunDashboard computed. */
export function RunDashboardView({ dashboard, names, result, roleModel, onRoleModelChange }: RunDashboardViewProps) {
  const [coefficientView, setCoefficientView] = useState<"best" | "current">("current");
  const heatmap = coefficientView === "best" ? dashboard.bestCoefficients : dashboard.currentCoefficients;

  return (
    <div className="stack">
      {result && <FinalResult result={result} />}

      <div className="grid grid-2">
        <section className="card" data-testid="graph-utility">
          <h2>Utility: graph side</h2>
          <SeriesChart series={dashboard.graphSide} emphasised={["bestDev", "globalBest"]} yLabel="dev utility" />
          <p className="note">Each graph particle&apos;s decoded DAG with the identity assignment, per init and role-step.</p>
        </section>
        <section className="card" data-testid="model-utility">
          <h2>Utility: model side</h2>
          <SeriesChart series={dashboard.modelSide} emphasised={["bestDev", "bestAssignment"]} yLabel="dev utility" empty="No weight-step yet." />
          <p className="note">The M random assignments on the iteration&apos;s best graph, per init and weight-step.</p>
        </section>
      </div>

      <section className="card" data-testid="best-dag">
        <h2>Best system</h2>
        <BestDagReplay bests={dashboard.bests} stepLabels={dashboard.stepLabels} names={names} />
      </section>

      <div className="grid grid-2">
        <section className="card" data-testid="jfk">
          <h2>JFK-scores</h2>
          <SeriesChart series={dashboard.jfk} yLabel="JFK-score" empty="No JFK-scores yet." />
          {dashboard.jfk.carriedOver.length > 0 && (
            <p className="note">
              Not drawn in any assignment, so the previous score was kept:{" "}
              {dashboard.jfk.carriedOver.map((entry) => `${entry.model} (${entry.steps.join(", ")})`).join("; ")}.
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
          {heatmap ? <CoefficientHeatmap heatmap={heatmap} /> : <p className="muted">No coefficients recorded yet.</p>}
          <p className="note">Model i&apos;s weights are Σ_k c_ik·e_k over the experts&apos; adapters; a model starts at c = one-hot(i).</p>
        </section>
      </div>

      <div className="grid grid-2">
        <section className="card" data-testid="roles-per-model">
          <h2>Roles per model</h2>
          <RoleBars rows={dashboard.rolesPerModel} />
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
          <RoleBars rows={dashboard.rolesOverSteps} />
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
        <CGainChart bars={dashboard.cGainBars} />
        <p className="note">
          Test items bucketed by k, the number of models that solve them alone. A system that did no better than a random single model would
          reach k/n; C-Gain = Σ_k (|B_k|/|D|)·(acc_k − k/n).
        </p>
      </section>
    </div>
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
