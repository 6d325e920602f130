"use client";

import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { formatCount } from "../data/format";
import { CONFIG_SECTIONS, configField, defaultDraft, draftToConfig, METHODS, type ConfigDraft, type ConfigKey } from "../data/run-config";
import { SimulatedBadge } from "../simulated-badge";
import { errorMessage, useTRPC } from "../trpc";

function useDebounced<T>(value: T, delay: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return settled;
}

export function NewRunForm({ initialPoolId, initialTaskId }: { initialPoolId?: string; initialTaskId?: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const pools = useQuery(trpc.pools.list.queryOptions());
  const tasks = useQuery(trpc.tasks.list.queryOptions());
  const [poolId, setPoolId] = useState(initialPoolId ?? "");
  const [taskId, setTaskId] = useState(initialTaskId ?? "");
  const [draft, setDraft] = useState<ConfigDraft>(defaultDraft);

  const chosenPool = pools.data?.find((p) => p.id === poolId) ?? pools.data?.[0];
  const chosenTask = tasks.data?.find((t) => t.id === taskId) ?? tasks.data?.[0];
  const parsed = useMemo(() => draftToConfig(draft), [draft]);
  const settledConfig = useDebounced(parsed.ok ? parsed.config : null, 300);

  const estimate = useQuery({
    ...trpc.runs.estimate.queryOptions({ poolId: chosenPool?.id ?? "", taskId: chosenTask?.id ?? "", config: settledConfig ?? undefined }),
    enabled: chosenPool !== undefined && chosenTask !== undefined && settledConfig !== null,
    placeholderData: keepPreviousData,
  });
  const launch = useMutation(
    trpc.runs.launch.mutationOptions({
      onSuccess: async (run) => {
        await queryClient.invalidateQueries({ queryKey: trpc.runs.pathKey() });
        router.push(`/runs/${run.id}`);
      },
    }),
  );
  const set = (key: ConfigKey, value: string) => setDraft((previous) => ({ ...previous, [key]: value }));

  return (
    <form
      className="stack"
      onSubmit={(event) => {
        event.preventDefault();
        if (!parsed.ok || !chosenPool || !chosenTask) return;
        launch.mutate({ poolId: chosenPool.id, taskId: chosenTask.id, config: parsed.config });
      }}
    >
      <div className="page-head">
        <div>
          <h1>New run</h1>
          <p className="muted">Defaults are the paper&apos;s and its reference code&apos;s; the run records the full resolved configuration.</p>
        </div>
      </div>

      <div className="grid grid-2">
        <section className="card">
          <h2>What to search</h2>
          <div className="field">
            <label htmlFor="run-pool">pool</label>
            <select id="run-pool" value={chosenPool?.id ?? ""} onChange={(e) => setPoolId(e.target.value)}>
              {pools.data?.map((pool) => (
                <option key={pool.id} value={pool.id}>
                  {pool.name} ({pool.modelCount} models{pool.backends.includes("simulated") ? ", simulated" : ""})
                </option>
              ))}
            </select>
            {chosenPool?.backends.includes("simulated") && (
              <div className="help">
                <SimulatedBadge /> this pool uses the simulated backend
              </div>
            )}
            {pools.data?.length === 0 && <p className="error">No pools yet: create one on the Pools page.</p>}
          </div>
          <div className="field">
            <label htmlFor="run-task">task</label>
            <select id="run-task" value={chosenTask?.id ?? ""} onChange={(e) => setTaskId(e.target.value)}>
              {tasks.data?.map((task) => (
                <option key={task.id} value={task.id}>
                  {task.name} ({task.devCount} dev / {task.testCount} test, {task.metric})
                </option>
              ))}
            </select>
            {tasks.data?.length === 0 && <p className="error">No tasks yet: upload one on the Tasks page.</p>}
          </div>
          <div className="fields">
            <div className="field">
              <label htmlFor="run-method">method</label>
              <select id="run-method" value={draft.method} onChange={(e) => set("method", e.target.value)}>
                {METHODS.map((method) => (
                  <option key={method} value={method}>
                    {method}
                  </option>
                ))}
              </select>
              <div className="help">heterogeneous-swarms, or a baseline or ablation to compare against</div>
            </div>
            <div className="field">
              <label htmlFor="run-seed">seed</label>
              <input id="run-seed" type="number" min={0} step={1} value={draft.seed} onChange={(e) => set("seed", e.target.value)} />
              <div className="help">{configField("seed").help}</div>
            </div>
          </div>
        </section>

        <section className="card" data-testid="estimate">
          <h2>Estimate</h2>
          {!parsed.ok ? (
            <p className="error">{parsed.errors.join("\n")}</p>
          ) : estimate.error ? (
            <p className="error">{errorMessage(estimate.error)}</p>
          ) : estimate.data ? (
            <>
              <div className="muted">backend calls, at most</div>
              <div className="big-number" data-testid="estimate-calls">
                {formatCount(estimate.data.totalCalls)}
              </div>
              <dl className="kv" style={{ marginTop: 8 }}>
                <dt>items evaluated</dt>
                <dd>
                  {estimate.data.devItems} dev, {estimate.data.testItems} test
                </dd>
                <dt>init step</dt>
                <dd>{formatCount(estimate.data.initCalls)} calls</dd>
                <dt>per iteration</dt>
                <dd>
                  {formatCount(estimate.data.callsPerIteration)} calls × {estimate.data.iterations} iterations
                </dd>
                <dt>final step</dt>
                <dd>{formatCount(estimate.data.finalCalls)} calls</dd>
                <dt>steps planned</dt>
                <dd>{estimate.data.stepsPlanned}</dd>
                <dt>tokens</dt>
                <dd>
                  {estimate.data.tokens
                    ? `about ${formatCount(estimate.data.tokens.total)} (${Math.round(estimate.data.tokens.perCall)} per call, from ${estimate.data.tokens.basedOnRuns} earlier runs)`
                    : "unknown until a run of this pool and task completes"}
                </dd>
              </dl>
              <p className="note">
                The count is the reference algorithm&apos;s: one call per node per item. Greedy decoding and the generation cache usually make far
                fewer backend calls.
              </p>
            </>
          ) : (
            <p className="muted">Choose a pool and a task.</p>
          )}
          {launch.error && <p className="error">{errorMessage(launch.error)}</p>}
          <button className="primary" type="submit" disabled={!parsed.ok || !chosenPool || !chosenTask || launch.isPending}>
            {launch.isPending ? "Launching…" : "Launch run"}
          </button>
        </section>
      </div>

      {CONFIG_SECTIONS.map((section) => (
        <section key={section.title} className="card">
          <h2>{section.title}</h2>
          <div className="fields">
            {section.keys.map((key) => (
              <ConfigInput key={key} field={key} value={draft[key]} onChange={(value) => set(key, value)} />
            ))}
          </div>
        </section>
      ))}
    </form>
  );
}

function ConfigInput({ field, value, onChange }: { field: ConfigKey; value: string; onChange: (value: string) => void }) {
  const spec = configField(field);
  const id = `config-${field}`;
  const changed = value !== spec.defaultValue;

  let input: ReactNode;
  if (spec.kind === "boolean") {
    input = (
      <label className="checkbox" htmlFor={id}>
        <input id={id} type="checkbox" checked={value === "true"} onChange={(e) => onChange(e.target.checked ? "true" : "false")} /> {field}
      </label>
    );
  } else if (spec.kind === "choice") {
    input = (
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {spec.choices?.map((choice) => (
          <option key={choice} value={choice}>
            {choice}
          </option>
        ))}
      </select>
    );
  } else {
    const integer = spec.kind === "integer" || spec.kind === "optionalInteger";
    input = (
      <input
        id={id}
        type="number"
        step={integer ? 1 : "any"}
        value={value}
        placeholder={spec.kind.startsWith("optional") ? "no limit" : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  }

  return (
    <div className="field">
      {spec.kind !== "boolean" && <label htmlFor={id}>{field}</label>}
      {input}
      <div className="help">
        {spec.help}
        {changed && <> (default {spec.defaultValue === "" ? "empty" : spec.defaultValue})</>}
      </div>
    </div>
  );
}
