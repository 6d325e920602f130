"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { draftFromModel, draftToInput, emptyDraft, WEIGHT_MIXING_NOTES, type ModelDraft } from "../data/model-form";
import { SimulatedBadge } from "../simulated-badge";
import { errorMessage, useTRPC, type RouterOutputs } from "../trpc";
import { ModelFields } from "./model-fields";

type PoolModel = RouterOutputs["pools"]["get"]["models"][number];

export function PoolDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const pool = useQuery(trpc.pools.get.queryOptions({ id }));
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.pools.pathKey() });
  const remove = useMutation(
    trpc.pools.delete.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        router.push("/pools");
      },
    }),
  );

  if (pool.error) return <p className="error">{errorMessage(pool.error)}</p>;
  if (!pool.data) return <p className="muted">Loading…</p>;
  const simulated = pool.data.models.some((m) => m.backend === "simulated");

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <p className="muted">
            <Link href="/pools">Pools</Link> /
          </p>
          <h1>
            {pool.data.name} {simulated && <SimulatedBadge />}
          </h1>
          <p className="muted">
            {pool.data.models.length} models · {pool.data.runCount} runs
          </p>
        </div>
        <div className="row">
          <RenamePool id={id} name={pool.data.name} onDone={invalidate} />
          <button
            className="danger"
            type="button"
            disabled={remove.isPending}
            onClick={() => {
              if (window.confirm(`Delete pool "${pool.data?.name}"?`)) remove.mutate({ id });
            }}
          >
            Delete pool
          </button>
        </div>
      </div>
      {remove.error && <p className="error">{errorMessage(remove.error)}</p>}

      <section className="card">
        <h2>Models</h2>
        <p className="note">Runs refer to models by index, so the order is fixed once a run used the pool.</p>
        <div className="table-wrap">
          <table data-testid="models-table">
            <thead>
              <tr>
                <th className="num">#</th>
                <th>name</th>
                <th>backend</th>
                <th>model</th>
                <th>endpoint</th>
                <th>settings</th>
                <th>API key</th>
                <th>weights</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {pool.data.models.map((model) => (
                <ModelRow key={model.id} model={model} onChanged={invalidate} />
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <AddModel poolId={id} onDone={invalidate} />
    </div>
  );
}

/** Tells whether an API key is stored. The key itself never reaches the browser, and simulated models need none. */
function apiKeyState(model: PoolModel): string {
  if (model.backend === "simulated") return "—";
  return model.hasApiKey ? "set" : "not set";
}

function RenamePool({ id, name, onDone }: { id: string; name: string; onDone: () => Promise<unknown> }) {
  const trpc = useTRPC();
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(name);
  const update = useMutation(trpc.pools.update.mutationOptions({ onSuccess: async () => { await onDone(); setEditing(false); } }));

  if (!editing) {
    return (
      <button type="button" onClick={() => setEditing(true)}>
        Rename
      </button>
    );
  }
  return (
    <form
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        update.mutate({ id, name: value });
      }}
    >
      <input type="text" aria-label="new pool name" value={value} onChange={(e) => setValue(e.target.value)} />
      <button className="primary" type="submit" disabled={update.isPending}>
        Save
      </button>
      <button type="button" onClick={() => setEditing(false)}>
        Cancel
      </button>
      {update.error && <span className="error">{errorMessage(update.error)}</span>}
    </form>
  );
}

function ModelRow({ model, onChanged }: { model: PoolModel; onChanged: () => Promise<unknown> }) {
  const trpc = useTRPC();
  const [editing, setEditing] = useState(false);
  const test = useMutation(trpc.models.testConnection.mutationOptions());
  const remove = useMutation(trpc.models.delete.mutationOptions({ onSuccess: onChanged }));
  const settings = model.generationSettings;

  return (
    <>
      <tr data-testid={`model-${model.index}`}>
        <td className="num">{model.index}</td>
        <td className="nowrap">{model.name}</td>
        <td>{model.backend === "simulated" ? <SimulatedBadge /> : <span className="badge">{model.backend}</span>}</td>
        <td>
          <code>{model.modelName}</code>
          {model.simulatedPreset && <div className="muted">preset {model.simulatedPreset}</div>}
          {model.baseModel && <div className="muted">base {model.baseModel}</div>}
          {model.adapterPath && <div className="muted">adapter {model.adapterPath}</div>}
          {WEIGHT_MIXING_NOTES[model.backend] && <div className="muted">weight-step: {WEIGHT_MIXING_NOTES[model.backend]}</div>}
        </td>
        <td>{model.endpoint ? <code>{model.endpoint}</code> : <span className="muted">—</span>}</td>
        <td className="muted">
          T={settings.temperature} · max {settings.maxTokens} · top-p {settings.topP}
        </td>
        <td>{apiKeyState(model)}</td>
        <td>{model.weightCapable ? "movable" : "fixed"}</td>
        <td className="actions">
          <span>
            <button type="button" onClick={() => test.mutate({ id: model.id })} disabled={test.isPending}>
              Test connection
            </button>{" "}
            <button type="button" onClick={() => setEditing(!editing)}>
              {editing ? "Close" : "Edit"}
            </button>{" "}
            <button
              type="button"
              className="danger"
              disabled={remove.isPending}
              onClick={() => {
                if (window.confirm(`Delete model "${model.name}"?`)) remove.mutate({ id: model.id });
              }}
            >
              Delete
            </button>
          </span>
        </td>
      </tr>
      {(test.data || test.error || remove.error) && (
        <tr>
          <td />
          <td colSpan={8}>
            {test.error && <p className="error">{errorMessage(test.error)}</p>}
            {test.data && (
              <div className={test.data.ok ? "success" : "error"} data-testid={`connection-result-${model.index}`}>
                {test.data.message}
                {test.data.ok && (
                  <>
                    {"\n"}Reply: {test.data.reply}
                  </>
                )}
              </div>
            )}
            {remove.error && <p className="error">{errorMessage(remove.error)}</p>}
          </td>
        </tr>
      )}
      {editing && (
        <tr>
          <td />
          <td colSpan={8}>
            <EditModel
              model={model}
              onDone={async () => {
                await onChanged();
                setEditing(false);
              }}
            />
          </td>
        </tr>
      )}
    </>
  );
}

function EditModel({ model, onDone }: { model: PoolModel; onDone: () => Promise<unknown> }) {
  const trpc = useTRPC();
  const [draft, setDraft] = useState<ModelDraft>(() => draftFromModel(model));
  const [errors, setErrors] = useState<string[]>([]);
  const update = useMutation(trpc.models.update.mutationOptions({ onSuccess: onDone }));

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        const result = draftToInput(draft);
        setErrors(result.ok ? [] : result.errors);
        if (result.ok) update.mutate({ id: model.id, ...result.input });
      }}
    >
      <ModelFields draft={draft} onChange={setDraft} hasStoredKey={model.hasApiKey} idPrefix={`edit-${model.id}`} />
      {errors.length > 0 && <p className="error">{errors.join("\n")}</p>}
      {update.error && <p className="error">{errorMessage(update.error)}</p>}
      <button className="primary" type="submit" disabled={update.isPending}>
        Save model
      </button>
    </form>
  );
}

function AddModel({ poolId, onDone }: { poolId: string; onDone: () => Promise<unknown> }) {
  const trpc = useTRPC();
  const [draft, setDraft] = useState<ModelDraft>(emptyDraft("openai"));
  const [errors, setErrors] = useState<string[]>([]);
  const create = useMutation(
    trpc.models.create.mutationOptions({
      onSuccess: async () => {
        await onDone();
        setDraft(emptyDraft(draft.backend));
      },
    }),
  );

  return (
    <section className="card">
      <h2>Add a model</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const result = draftToInput(draft);
          setErrors(result.ok ? [] : result.errors);
          if (result.ok) create.mutate({ poolId, ...result.input });
        }}
      >
        <ModelFields draft={draft} onChange={setDraft} hasStoredKey={false} idPrefix="add" />
        {errors.length > 0 && <p className="error">{errors.join("\n")}</p>}
        {create.error && <p className="error">{errorMessage(create.error)}</p>}
        <button className="primary" type="submit" disabled={create.isPending}>
          Add model
        </button>
      </form>
    </section>
  );
}
