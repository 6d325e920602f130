"use client";

import { useQueries, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useMemo, useState } from "react";
import { RoleBars } from "../charts/role-bars";
import { SeriesChart } from "../charts/series-chart";
import { compareCsv, wallSeconds, type CompareRun } from "../data/compare";
import { formatCount, formatDuration, formatSigned, formatUtility } from "../data/format";
import { roleBarsPerModel } from "../data/roles";
import { readResult } from "../data/run-dashboard";
import { bestCurves } from "../data/series";
import { parseSteps, type RawStep } from "../data/step-json";
import { downloadText } from "../download";
import { SimulatedBadge, StatusBadge } from "../simulated-badge";
import { errorMessage, useTRPC } from "../trpc";

export function ComparePage() {
  const trpc = useTRPC();
  const runs = useQuery(trpc.runs.list.queryOptions());
  const pools = useQuery(trpc.pools.list.queryOptions());
  const [selected, setSelected] = useState<string[]>([]);

  const details = useQueries({ queries: selected.map((id) => trpc.runs.get.queryOptions({ id })) });
  const stepLists = useQueries({ queries: selected.map((id) => trpc.runs.steps.queryOptions({ runId: id })) });
  const simulatedPools = useMemo(() => new Set(pools.data?.filter((p) => p.backends.includes("simulated")).map((p) => p.id)), [pools.data]);

  const compared = useMemo(() => {
    return selected.flatMap((id, i) => {
      const run = details[i]?.data;
      const steps = stepLists[i]?.data;
      if (!run) return [];
      const parsed = parseSteps((steps ?? []) as RawStep[]);
      const result = readResult(run.result);
      const resultModels = (run.result as { models?: unknown } | null)?.models;
      const row: CompareRun = {
        id: run.id,
        task: run.task.name,
        pool: run.pool.name,
        method: run.method,
        seed: run.seed,
        status: run.status,
        bestDev: result?.bestDev ?? parsed.at(-1)?.bestDev ?? null,
        bestTest: result?.bestTest ?? null,
        backendCalls: run.progress.callsDone,
        cacheHits: run.progress.cacheHits,
        wallSeconds: wallSeconds(run.startedAt, run.finishedAt),
        cGain: result?.cGain ?? null,
        simulated: simulatedPools.has(run.pool.id),
      };
      const models = Array.isArray(resultModels) ? resultModels.map(String) : [];
      const roles = result && models.length > 0 ? roleBarsPerModel(result.roleCounts, models, true) : null;
      return [{ row, steps: parsed, roles, label: `${run.task.name} · ${run.method} · seed ${run.seed}` }];
    });
  }, [selected, details, stepLists, simulatedPools]);

  const curves = useMemo(() => bestCurves(compared.map((c) => ({ id: c.row.id, name: c.label, steps: c.steps }))), [compared]);
  const toggle = (id: string) => setSelected((previous) => (previous.includes(id) ? previous.filter((x) => x !== id) : [...previous, id]));
  const loadError = [...details, ...stepLists].find((q) => q.error)?.error;

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Compare</h1>
          <p className="muted">Select runs to compare methods, baselines and seeds on the same or different tasks.</p>
        </div>
        <button type="button" className="primary" disabled={compared.length === 0} onClick={() => downloadText(compareCsv(compared.map((c) => c.row)), "hswarm-runs.csv", "text/csv")}>
          Export CSV
        </button>
      </div>

      <section className="card">
        <h2>Runs</h2>
        {runs.error && <p className="error">{errorMessage(runs.error)}</p>}
        <div className="table-wrap">
          <table data-testid="compare-select">
            <thead>
              <tr>
                <th />
                <th>run</th>
                <th>status</th>
                <th>task</th>
                <th>pool</th>
                <th>method</th>
                <th className="num">seed</th>
              </tr>
            </thead>
            <tbody>
              {runs.data?.map((run) => (
                <tr key={run.id} className={selected.includes(run.id) ? "selected" : undefined}>
                  <td>
                    <input type="checkbox" aria-label={`compare run ${run.id}`} checked={selected.includes(run.id)} onChange={() => toggle(run.id)} />
                  </td>
                  <td>
                    <Link href={`/runs/${run.id}`}>{run.id.slice(-8)}</Link>
                  </td>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>{run.task.name}</td>
                  <td>
                    {run.pool.name} {simulatedPools.has(run.pool.id) && <SimulatedBadge />}
                  </td>
                  <td>{run.method}</td>
                  <td className="num">{run.seed}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      {loadError && <p className="error">{errorMessage(loadError)}</p>}
      {compared.length > 0 && (
        <>
          <section className="card">
            <h2>Results</h2>
            <div className="table-wrap">
              <table data-testid="compare-table">
                <thead>
                  <tr>
                    <th>task</th>
                    <th>method</th>
                    <th className="num">seed</th>
                    <th className="num">best dev</th>
                    <th className="num">test</th>
                    <th className="num">backend calls</th>
                    <th className="num">wall time</th>
                    <th className="num">C-Gain</th>
                  </tr>
                </thead>
                <tbody>
                  {compared.map(({ row }) => (
                    <tr key={row.id}>
                      <td>
                        {row.task} {row.simulated && <SimulatedBadge />}
                      </td>
                      <td>{row.method}</td>
                      <td className="num">{row.seed}</td>
                      <td className="num">{formatUtility(row.bestDev)}</td>
                      <td className="num">{formatUtility(row.bestTest)}</td>
                      <td className="num">{formatCount(row.backendCalls)}</td>
                      <td className="num">{formatDuration(row.wallSeconds)}</td>
                      <td className="num">{formatSigned(row.cGain)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>

          <section className="card" data-testid="compare-curves">
            <h2>Best dev utility over iterations</h2>
            <SeriesChart series={curves} emphasised={curves.lines.map((line) => line.key)} yLabel="dev utility" />
          </section>

          <section className="card">
            <h2>Role distributions</h2>
            <div className="grid grid-2">
              {compared.map((c) => (
                <div key={c.row.id}>
                  <h3>{c.label}</h3>
                  {c.roles ? (
                    <RoleBars rows={c.roles} share height={220} />
                  ) : (
                    <p className="muted">Roles are shown once the run completes.</p>
                  )}
                </div>
              ))}
            </div>
          </section>
        </>
      )}
    </div>
  );
}
