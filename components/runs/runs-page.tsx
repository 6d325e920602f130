"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { formatCount, formatPercent } from "../data/format";
import { SimulatedBadge, StatusBadge } from "../simulated-badge";
import { errorMessage, useTRPC } from "../trpc";

export function RunsPage() {
  const trpc = useTRPC();
  // Polls while any run is unfinished, so the list's statuses move without a reload.
  const runs = useQuery({
    ...trpc.runs.list.queryOptions(),
    refetchInterval: (query) => (query.state.data?.some((run) => ["queued", "running"].includes(run.status)) ? 3000 : false),
  });

  const pools = useQuery(trpc.pools.list.queryOptions());
  const simulatedPools = new Set(pools.data?.filter((pool) => pool.backends.includes("simulated")).map((pool) => pool.id));

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Runs</h1>
          <p className="muted">Each run searches one pool on one task; it executes in a worker and is stored with every step.</p>
        </div>
        <Link className="button primary" href="/runs/new">
          New run
        </Link>
      </div>

      <section className="card">
        {runs.error && <p className="error">{errorMessage(runs.error)}</p>}
        {runs.isPending ? (
          <p className="muted">Loading…</p>
        ) : runs.data?.length === 0 ? (
          <p className="muted">
            No runs yet. <Link href="/runs/new">Launch one</Link>.
          </p>
        ) : (
          <div className="table-wrap">
            <table data-testid="runs-table">
              <thead>
                <tr>
                  <th>run</th>
                  <th>status</th>
                  <th>task</th>
                  <th>pool</th>
                  <th>method</th>
                  <th className="num">seed</th>
                  <th className="num">iteration</th>
                  <th className="num">calls</th>
                  <th className="num">cache hits</th>
                  <th>created</th>
                </tr>
              </thead>
              <tbody>
                {runs.data?.map((run) => (
                  <tr key={run.id}>
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
                    <td className="num">
                      {run.progress.iteration}
                      {run.progress.maxIterations !== null ? ` / ${run.progress.maxIterations}` : ""}
                    </td>
                    <td className="num">
                      {formatCount(run.progress.callsDone)} / {formatCount(run.progress.callsExpected)}
                    </td>
                    <td className="num">{formatPercent(run.progress.cacheHitRate)}</td>
                    <td className="muted">{new Date(run.createdAt).toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}
