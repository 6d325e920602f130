"use client";

import { skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import Link from "next/link";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { computeProgress } from "../data/progress";
import { buildRunDashboard, keepUnchangedParts, readResult, type RunDashboard } from "../data/run-dashboard";
import { appendSteps, type RawStep } from "../data/step-json";
import type { StepView } from "../data/types";
import { EventsList } from "../events-list";
import { ProgressPanel } from "../progress-panel";
import { SimulatedBadge, StatusBadge } from "../simulated-badge";
import { errorMessage, useTRPC, useTRPCClient, type RouterOutputs } from "../trpc";
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

/**
 * Milliseconds a received step may wait before it is drawn. The stream sends a status event
 * after the steps of each read, and that event draws them at once, so this only bounds the
 * wait when no status event follows.
 */
const STEP_BATCH_MS = 250;

/** Renders the run page, keyed by run id so that opening another run starts with empty state. */
export function RunPage({ id }: { id: string }) {
  return <RunPageContent key={id} id={id} />;
}

/**
 * Collects received steps and parses them in batches. The stream can send hundreds of steps in
 * a row (the whole history, when the history query failed), and drawing the charts after each
 * one would take seconds. Returns the parsed steps, a function that queues a received step, and
 * one that parses every queued step now.
 */
function useStepBatches(): { steps: StepView[]; receive: (step: RawStep) => void; flush: () => void } {
  const [steps, setSteps] = useState<StepView[]>([]);
  const queued = useRef<RawStep[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const flush = useCallback(() => {
    if (timer.current !== null) clearTimeout(timer.current);
    timer.current = null;
    if (queued.current.length === 0) return;

    const batch = queued.current;
    queued.current = [];
    setSteps((previous) => appendSteps(previous, batch));
  }, []);

  const receive = useCallback(
    (step: RawStep) => {
      queued.current.push(step);
      timer.current ??= setTimeout(flush, STEP_BATCH_MS);
    },
    [flush],
  );

  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
    },
    [],
  );
  return { steps, receive, flush };
}

/**
 * Loads the run's stored steps with one query and hands them to `receive`. For 401 steps
 * (4.7 MiB) from `next start` on 2 CPUs, the query took 0.2 to 0.6 s and the same steps as
 * stream events took 1.0 to 1.35 s. Returns the index of the last stored step (-1 for none),
 * after which the subscription starts, or null while loading. When the query fails, it returns
 * -1, so that the subscription sends the whole history instead.
 */
function useStepHistory(id: string, receive: (step: RawStep) => void, flush: () => void): number | null {
  const client = useTRPCClient();
  const [historyEnd, setHistoryEnd] = useState<number | null>(null);

  useEffect(() => {
    let active = true;
    // Sent one task later than the page's other queries, so that it is not batched with them
    // into one HTTP request, which would hold their small responses back until the history is in.
    const timer = setTimeout(() => {
      client.runs.steps.query({ runId: id }).then(
        (history) => {
          if (!active) return;
          for (const step of history) receive(step as RawStep);
          flush();
          setHistoryEnd(history.length > 0 ? history[history.length - 1].index : -1);
        },
        () => {
          if (active) setHistoryEnd(-1);
        },
      );
    }, 0);
    return () => {
      active = false;
      clearTimeout(timer);
    };
  }, [client, id, receive, flush]);

  return historyEnd;
}

function RunPageContent({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const run = useQuery(trpc.runs.get.queryOptions({ id }));
  const pool = useQuery({ ...trpc.pools.get.queryOptions({ id: run.data?.pool.id ?? "" }), enabled: run.data !== undefined });
  const events = useQuery(trpc.runs.events.queryOptions({ runId: id }));

  const { steps, receive, flush } = useStepBatches();
  const historyEnd = useStepHistory(id, receive, flush);
  const [live, setLive] = useState<StatusSnapshot | null>(null);
  const [roleModel, setRoleModel] = useState<number | null>(null);

  // The subscription starts once the history is in, and sends every step after it, including
  // steps committed while the history was loading.
  const subscription = useSubscription(
    trpc.runs.onEvent.subscriptionOptions(historyEnd === null ? skipToken : { runId: id, lastStepIndex: historyEnd }, {
      onData: (envelope) => {
        const event = "data" in envelope ? envelope.data : envelope;
        if (event.type === "step") {
          receive(event.step as RawStep);
        } else {
          // Parsed in this event handler, so React draws the steps and the status together.
          flush();
          setLive(event.run);
          void queryClient.invalidateQueries({ queryKey: trpc.runs.events.queryKey({ runId: id }) });
          if (event.run.status === "completed") void queryClient.invalidateQueries({ queryKey: trpc.runs.get.queryKey({ id }) });
        }
      },
    }),
  );

  const status: StatusSnapshot | null = live ?? run.data ?? null;
  const now = useNow(status?.status === "running");
  const names = useMemo(() => pool.data?.models.map((model) => model.name) ?? [], [pool.data]);
  const result = useMemo(() => readResult(run.data?.result), [run.data?.result]);
  // The dashboard drawn last, so that the parts a new step leaves as they were keep their identity.
  const drawnDashboard = useRef<RunDashboard | null>(null);
  const dashboard = useMemo(() => keepUnchangedParts(drawnDashboard.current, buildRunDashboard(steps, names, result, roleModel)), [steps, names, result, roleModel]);
  useEffect(() => {
    drawnDashboard.current = dashboard;
  }, [dashboard]);

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

      <RunDashboardView dashboard={dashboard} names={names} result={result} roleModel={roleModel} onRoleModelChange={setRoleModel} loading={historyEnd === null} />

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
