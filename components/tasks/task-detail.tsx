"use client";

import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useMemo, useState } from "react";
import { DomainHistogram } from "../charts/domain-histogram";
import { domainHistogram } from "../data/histogram";
import { METRIC_LABELS, METRIC_NAMES, type MetricName } from "../data/task-form";
import { errorMessage, useTRPC, type RouterOutputs } from "../trpc";

type Task = RouterOutputs["tasks"]["get"];

const PAGE_SIZE = 10;

export function TaskDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const task = useQuery(trpc.tasks.get.queryOptions({ id }));

  if (task.error) return <p className="error">{errorMessage(task.error)}</p>;
  if (!task.data) return <p className="muted">Loading…</p>;
  return <TaskView task={task.data} />;
}

function TaskView({ task }: { task: Task }) {
  const bars = useMemo(
    () =>
      domainHistogram([
        ...task.splits.dev.domains.map((d) => ({ split: "dev" as const, domain: d.domain, count: d.count })),
        ...task.splits.test.domains.map((d) => ({ split: "test" as const, domain: d.domain, count: d.count })),
      ]),
    [task],
  );

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <p className="muted">
            <Link href="/tasks">Tasks</Link> /
          </p>
          <h1>{task.name}</h1>
          <p className="muted">
            {task.runCount} runs · created {new Date(task.createdAt).toLocaleString()}
          </p>
        </div>
        <Link className="button primary" href={`/runs/new?taskId=${task.id}`}>
          New run on this task
        </Link>
      </div>

      <div className="grid grid-3">
        <section className="card">
          <h2>Splits</h2>
          <dl className="kv" data-testid="split-sizes">
            <dt>dev (searched on)</dt>
            <dd>{task.splits.dev.size} items</dd>
            <dt>test (reported)</dt>
            <dd>{task.splits.test.size} items</dd>
            <dt>with choices</dt>
            <dd>{task.itemsWithChoices} items</dd>
          </dl>
          <MetricSelect task={task} />
        </section>
        <section className="card" style={{ gridColumn: "span 2" }}>
          <h2>Domains</h2>
          <DomainHistogram bars={bars} />
        </section>
      </div>

      <ItemPreview taskId={task.id} />
      <PromptEditor task={task} />
    </div>
  );
}

function MetricSelect({ task }: { task: Task }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const update = useMutation(
    trpc.tasks.update.mutationOptions({ onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.tasks.pathKey() }) }),
  );

  return (
    <div className="field" style={{ marginTop: 12 }}>
      <label htmlFor="metric">metric</label>
      <select
        id="metric"
        value={task.metric}
        disabled={update.isPending}
        onChange={(e) => update.mutate({ id: task.id, metric: e.target.value as MetricName })}
      >
        {METRIC_NAMES.map((m) => (
          <option key={m} value={m}>
            {METRIC_LABELS[m]}
          </option>
        ))}
      </select>
      {update.error && <p className="error">{errorMessage(update.error)}</p>}
    </div>
  );
}

function ItemPreview({ taskId }: { taskId: string }) {
  const trpc = useTRPC();
  const [split, setSplit] = useState<"dev" | "test">("dev");
  const [offset, setOffset] = useState(0);
  const items = useQuery({ ...trpc.tasks.items.queryOptions({ taskId, split, offset, limit: PAGE_SIZE }), placeholderData: keepPreviousData });
  const total = items.data?.total ?? 0;

  return (
    <section className="card">
      <div className="card-head">
        <h2>Items</h2>
        <div className="row">
          <select
            aria-label="split"
            value={split}
            onChange={(e) => {
              setSplit(e.target.value as "dev" | "test");
              setOffset(0);
            }}
          >
            <option value="dev">dev</option>
            <option value="test">test</option>
          </select>
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
            Previous
          </button>
          <span className="muted">
            {total === 0 ? 0 : offset + 1}–{Math.min(total, offset + PAGE_SIZE)} of {total}
          </span>
          <button type="button" disabled={offset + PAGE_SIZE >= total} onClick={() => setOffset(offset + PAGE_SIZE)}>
            Next
          </button>
        </div>
      </div>
      {items.error && <p className="error">{errorMessage(items.error)}</p>}
      <div className="table-wrap">
        <table data-testid="items-table">
          <thead>
            <tr>
              <th className="num">#</th>
              <th>question</th>
              <th>choices</th>
              <th>answer</th>
              <th>domain</th>
            </tr>
          </thead>
          <tbody>
            {items.data?.items.map((item) => (
              <tr key={`${item.split}-${item.index}`}>
                <td className="num">{item.index}</td>
                <td style={{ maxWidth: 520 }}>
                  {item.question.length > 300 ? `${item.question.slice(0, 300)}…` : item.question}
                  {item.contextChunks && <div className="muted">{item.contextChunks.length} context chunks</div>}
                </td>
                <td className="muted">
                  {item.choices
                    ? Object.entries(item.choices)
                        .map(([key, text]) => `${key}: ${text}`)
                        .join(" · ")
                    : "—"}
                </td>
                <td>
                  <code>{item.answer}</code>
                </td>
                <td>{item.domain ?? <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Waits `delay` ms after the last change before returning a value, so typing does not send a request per key. */
function useDebounced<T>(value: T, delay: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return settled;
}

function PromptEditor({ task }: { task: Task }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [firstStep, setFirstStep] = useState(task.promptTemplates.firstStep);
  const [laterStep, setLaterStep] = useState(task.promptTemplates.laterStep);
  const [keepNewlines, setKeepNewlines] = useState(task.promptTemplates.keepNewlines);
  const [iclPrompt, setIclPrompt] = useState(task.iclPrompt ?? "");
  const [index, setIndex] = useState(0);
  const devSize = task.splits.dev.size;

  const draft = useDebounced({ firstStep, laterStep, keepNewlines, iclPrompt, index }, 300);
  const templatesValid = draft.firstStep.trim() !== "" && draft.laterStep.trim() !== "";
  const example = useQuery({
    ...trpc.tasks.renderExample.queryOptions({
      taskId: task.id,
      split: "dev",
      index: Math.min(draft.index, Math.max(0, devSize - 1)),
      templates: { firstStep: draft.firstStep, laterStep: draft.laterStep, keepNewlines: draft.keepNewlines },
      iclPrompt: draft.iclPrompt === "" ? null : draft.iclPrompt,
    }),
    enabled: devSize > 0 && templatesValid,
    placeholderData: keepPreviousData,
  });
  const save = useMutation(
    trpc.tasks.update.mutationOptions({ onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.tasks.pathKey() }) }),
  );
  const changed =
    firstStep !== task.promptTemplates.firstStep ||
    laterStep !== task.promptTemplates.laterStep ||
    keepNewlines !== task.promptTemplates.keepNewlines ||
    iclPrompt !== (task.iclPrompt ?? "");

  return (
    <section className="card">
      <div className="card-head">
        <h2>Prompt templates</h2>
        <div className="row">
          {changed && <span className="muted">unsaved changes</span>}
          <button
            className="primary"
            type="button"
            disabled={!changed || save.isPending}
            onClick={() =>
              save.mutate({ id: task.id, promptTemplates: { firstStep, laterStep, keepNewlines }, iclPrompt: iclPrompt === "" ? null : iclPrompt })
            }
          >
            Save templates
          </button>
        </div>
      </div>
      {save.error && <p className="error">{errorMessage(save.error)}</p>}
      <div className="grid grid-2">
        <div>
          <div className="field">
            <label htmlFor="first-step">first step (a node without predecessors)</label>
            <textarea id="first-step" className="mono" rows={3} value={firstStep} onChange={(e) => setFirstStep(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="later-step">later steps (a node that reads previous responses)</label>
            <textarea id="later-step" className="mono" rows={3} value={laterStep} onChange={(e) => setLaterStep(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="icl-prompt">few-shot prefix (optional, placed ahead of every prompt)</label>
            <textarea id="icl-prompt" className="mono" rows={3} value={iclPrompt} onChange={(e) => setIclPrompt(e.target.value)} />
          </div>
          <label className="checkbox">
            <input type="checkbox" checked={keepNewlines} onChange={(e) => setKeepNewlines(e.target.checked)} /> keep newlines in previous responses
            (the reference code flattens them)
          </label>
        </div>
        <div>
          <div className="row" style={{ marginBottom: 8 }}>
            <label htmlFor="example-index" style={{ margin: 0 }}>
              example: dev item
            </label>
            <input
              id="example-index"
              type="number"
              min={0}
              max={Math.max(0, devSize - 1)}
              value={index}
              style={{ width: 90 }}
              onChange={(e) => setIndex(Math.max(0, Math.floor(Number(e.target.value) || 0)))}
            />
          </div>
          {!templatesValid && <p className="error">Both templates must contain text.</p>}
          {example.error && <p className="error">{errorMessage(example.error)}</p>}
          {example.data && (
            <div data-testid="rendered-example">
              <h3>first-step prompt</h3>
              <pre>{example.data.firstStep}</pre>
              <h3>later-step prompt</h3>
              <pre>{example.data.laterStep}</pre>
            </div>
          )}
        </div>
      </div>
    </section>
  );
}
