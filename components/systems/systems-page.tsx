"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { formatUtility } from "../data/format";
import { SimulatedBadge } from "../simulated-badge";
import { errorMessage, useTRPC, useTRPCClient } from "../trpc";
import { downloadJson } from "../download";

export function SystemsPage() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const systems = useQuery(trpc.systems.list.queryOptions());
  const pools = useQuery(trpc.pools.list.queryOptions());
  // Systems record their pool by name; a pool that uses the simulated backend marks them as stand-ins.
  const simulatedPools = new Set(pools.data?.filter((pool) => pool.backends.includes("simulated")).map((pool) => pool.name));
  const [downloadError, setDownloadError] = useState<string | null>(null);

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Systems</h1>
          <p className="muted">
            A system is a decoded DAG, the model at each position and the models&apos; weights: the best system of a run, usable on its own.
          </p>
        </div>
      </div>

      <section className="card">
        <h2>Exported systems</h2>
        {systems.error && <p className="error">{errorMessage(systems.error)}</p>}
        {downloadError && <p className="error">{downloadError}</p>}
        {systems.isPending ? (
          <p className="muted">Loading…</p>
        ) : systems.data?.length === 0 ? (
          <p className="muted">No systems yet. Export the best system of a completed run below or on its run page.</p>
        ) : (
          <table data-testid="systems-table">
            <thead>
              <tr>
                <th>name</th>
                <th>task</th>
                <th>pool</th>
                <th>kind</th>
                <th className="num">nodes</th>
                <th className="num">dev</th>
                <th className="num">test</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {systems.data?.map((system) => (
                <tr key={system.id}>
                  <td>
                    <Link href={`/systems/${system.id}`}>{system.name}</Link>
                  </td>
                  <td>{system.task}</td>
                  <td>
                    {system.pool} {simulatedPools.has(system.pool) && <SimulatedBadge />}
                  </td>
                  <td>{system.kind}</td>
                  <td className="num">{system.nodeCount}</td>
                  <td className="num">{formatUtility(system.utility.dev)}</td>
                  <td className="num">{formatUtility(system.utility.test)}</td>
                  <td>
                    <button
                      type="button"
                      onClick={async () => {
                        setDownloadError(null);
                        try {
                          const full = await client.systems.get.query({ id: system.id });
                          downloadJson(full.definition, `${system.name}.json`);
                        } catch (error) {
                          setDownloadError(errorMessage(error));
                        }
                      }}
                    >
                      Download JSON
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <ExportForm />
    </div>
  );
}

function ExportForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const runs = useQuery(trpc.runs.list.queryOptions({ status: "completed" }));
  const [runId, setRunId] = useState("");
  const [name, setName] = useState("");
  const chosen = runs.data?.find((run) => run.id === runId) ?? runs.data?.[0];
  const exportSystem = useMutation(
    trpc.systems.export.mutationOptions({
      onSuccess: async (system) => {
        await queryClient.invalidateQueries({ queryKey: trpc.systems.pathKey() });
        downloadJson(system.definition, `${system.name}.json`);
      },
    }),
  );

  return (
    <section className="card">
      <h2>Export a run&apos;s best system</h2>
      {runs.data?.length === 0 ? (
        <p className="muted">No completed runs yet.</p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (chosen) exportSystem.mutate({ runId: chosen.id, name: name.trim() === "" ? undefined : name.trim() });
          }}
        >
          <div className="grid grid-2">
            <div className="field">
              <label htmlFor="export-run">completed run</label>
              <select id="export-run" value={chosen?.id ?? ""} onChange={(e) => setRunId(e.target.value)}>
                {runs.data?.map((run) => (
                  <option key={run.id} value={run.id}>
                    {run.task.name} · {run.method} · seed {run.seed} ({run.id.slice(-8)})
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="export-name">system name</label>
              <input id="export-name" type="text" value={name} placeholder="task · method · seed" onChange={(e) => setName(e.target.value)} />
            </div>
          </div>
          {exportSystem.error && <p className="error">{errorMessage(exportSystem.error)}</p>}
          {exportSystem.data && (
            <p className="success">
              Exported <Link href={`/systems/${exportSystem.data.id}`}>{exportSystem.data.name}</Link> and downloaded its JSON.
            </p>
          )}
          <button className="primary" type="submit" disabled={!chosen || exportSystem.isPending}>
            Export and download JSON
          </button>
        </form>
      )}
    </section>
  );
}
