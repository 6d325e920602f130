"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import Link from "next/link";
import { useEffect, useMemo, useState } from "react";
import { computeProgress } from "../data/progress";
import { buildRunDashboard, readResult } from "../data/run-dashboard";
import { parseSteps, type RawStep } from "../data/step-json";
import { EventsList } from "../events-list";
import { ProgressPanel } from "../progress-panel";
import { SimulatedBadge, StatusBadge } from "../simulated-badge";
import { errorMessage, useTRPC, type RouterOutputs } from "../trpc";
import { RunDashboardView } from "./run-dashboard-view";

type StatusSnapshot = Pick<RouterOutputs["runs"]["get"], "status" | "lastError" | "progress" | "startedAt" | "finishedAt">;

/** Re-renders every `intervalMs` while `active`, so that elapsed time and ETA move between events. */
function useNow(active: boolean, intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [active, intervalMs]);
  return now;
}

export function RunPage({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const run = useQuery(trpc.runs.get.queryOptions({ id }));
  const pool = useQuery({ ...trpc.pools.get.queryOptions({ id: run.data?.pool.id ?? "" }), enabled: run.data !== undefined });
  const events = useQuery(trpc.runs.events.queryOptions({ runId: id }));

  // Steps arrive over the subscription: the stored history first, then each new step.
  const [rawSteps, setRawSteps] = useState<Map<number, RawStep>>(() => new Map());
  const [live, setLive] = useState<StatusSnapshot | null>(null);
  const [roleModel, setRoleModel] = useState<number | null>(null);

  const subscription = useSubscription(
    trpc.runs.onEvent.subscriptionOptions(
      { runId: id },
      {
        onData: (envelope) => {
          const event = "data" in envelope ? envelope.data : envelope;
          if (event.type === "step") {
            setRawSteps((previous) => {
              if (previous.has(event.step.index)) return previous;
              const next = new Map(previous);
              next.set(event.step.index, event.step as RawStep);
              return next;
            });
          } else {
            setLive(event.run);
            void queryClient.invalidateQueries({ queryKey: trpc.runs.events.queryKey({ runId: id }) });
            if (event.run.status === "completed") void queryClient.invalidateQueries({ queryKey: trpc.runs.get.queryKey({ id }) });
          }
        },
      },
    ),
  );

  const status: StatusSnapshot | null = live ?? run.data ?? null;
  const now = useNow(status?.status === "running");
  const names = useMemo(() => pool.data?.models.map((model) => model.name) ?? [], [pool.data]);
  const steps = useMemo(() => parseSteps([...rawSteps.values()].sort((a, b) => a.index - b.index)), [rawSteps]);
  const result = useMemo(() => readResult(run.data?.result), [run.data?.result]);
  const dashboard = useMemo(() => buildRunDashboard(steps, names, result, roleModel), [steps, names, result, roleModel]);

  if (run.error) return <p className="error">{errorMessage(run.error)}</p>;
  if (!run.data || !status) return <p className="muted">Loading…</p>;

  const progress = computeProgress({
    status: status.status,
    iteration: status.progress.iteration,
    maxIterations: status.progress.maxIterations ?? 0,
    callsDone: status.progress.callsDone,
    callsExpected: status.progress.callsExpected,
    cacheHits: status.progress.cacheHits,
    startedAt: status.startedAt ? Date.parse(status.startedAt) : null,
    finishedAt: status.finishedAt ? Date.parse(status.finishedAt) : null,
    now,
  });
  const simulated = pool.data?.models.some((model) => model.backend === "simulated") ?? false;

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <p className="muted">
            <Link href="/runs">Runs</Link> /
          </p>
          <h1>
            {run.data.task.name} · {run.data.method} <StatusBadge status={status.status} /> {simulated && <SimulatedBadge />}
          </h1>
          <p className="muted">
            pool <Link href={`/pools/${run.data.pool.id}`}>{run.data.pool.name}</Link> · task <Link href={`/tasks/${run.data.task.id}`}>{run.data.task.name}</Link>{" "}
            · seed {run.data.seed} · run {run.data.id}
            {subscription.status === "connecting" && " · connecting…"}
            {subscription.status === "pending" && status.status === "running" && " · live"}
          </p>
        </div>
        <RunControls id={id} status={status.status} onChanged={(summary) => setLive(summary)} />
      </div>

      <section className="card">
        <ProgressPanel progress={progress} status={status.status} />
        {status.lastError && <p className="error">{status.lastError}</p>}
        {subscription.error && <p className="error">Live updates stopped: {errorMessage(subscription.error)}</p>}
      </section>

      <RunDashboardView dashboard={dashboard} names={names} result={result} roleModel={roleModel} onRoleModelChange={setRoleModel} />

      <section className="card">
        <h2>Events and errors</h2>
        {events.error && <p className="error">{errorMessage(events.error)}</p>}
        <EventsList events={events.data ?? []} />
      </section>
    </div>
  );
}

function RunControls({ id, status, onChanged }: { id: string; status: string; onChanged: (summary: StatusSnapshot) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const options = {
    onSuccess: async (summary: StatusSnapshot) => {
      onChanged(summary);
      await queryClient.invalidateQueries({ queryKey: trpc.runs.pathKey() });
    },
  };
  const pause = useMutation(trpc.runs.pause.mutationOptions(options));
  const resume = useMutation(trpc.runs.resume.mutationOptions(options));
  const cancel = useMutation(trpc.runs.cancel.mutationOptions(options));
  const exportSystem = useMutation(trpc.systems.export.mutationOptions());
  const busy = pause.isPending || resume.isPending || cancel.isPending;
  const error = pause.error ?? resume.error ?? cancel.error ?? exportSystem.error;

  return (
    <div>
      <div className="row">
        <button type="button" disabled={busy || !(status === "running" || status === "queued")} onClick={() => pause.mutate({ id })}>
          Pause
        </button>
        <button type="button" disabled={busy || !(status === "paused" || status === "failed")} onClick={() => resume.mutate({ id })}>
          Resume
        </button>
        <button
          type="button"
          className="danger"
          disabled={busy || !(status === "running" || status === "queued" || status === "paused")}
          onClick={() => {
            if (window.confirm("Cancel this run? A cancelled run cannot be resumed.")) cancel.mutate({ id });
          }}
        >
          Cancel
        </button>
        {status === "completed" &&
          (exportSystem.data ? (
            <Link className="button primary" href={`/systems/${exportSystem.data.id}`}>
              Open exported system
            </Link>
          ) : (
            <button type="button" className="primary" disabled={exportSystem.isPending} onClick={() => exportSystem.mutate({ runId: id })}>
              Export best system
            </button>
          ))}
      </div>
      {error && <p className="error">{errorMessage(error)}</p>}
    </div>
  );
}
