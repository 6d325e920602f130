"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { draftToInput, emptyDraft, type ModelDraft } from "../data/model-form";
import { SimulatedBadge } from "../simulated-badge";
import { errorMessage, useTRPC } from "../trpc";
import { ModelFields } from "./model-fields";

export function PoolsPage() {
  const trpc = useTRPC();
  const pools = useQuery(trpc.pools.list.queryOptions());

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Pools</h1>
          <p className="muted">A pool is n models, indexed 0..n−1, that a run searches over.</p>
        </div>
      </div>

      <section className="card">
        <h2>All pools</h2>
        {pools.error && <p className="error">{errorMessage(pools.error)}</p>}
        {pools.isPending ? (
          <p className="muted">Loading…</p>
        ) : pools.data && pools.data.length === 0 ? (
          <p className="muted">No pools yet. Create one from a simulated preset or add your own models below.</p>
        ) : (
          <table data-testid="pools-table">
            <thead>
              <tr>
                <th>name</th>
                <th className="num">models</th>
                <th>backends</th>
                <th className="num">runs</th>
                <th>created</th>
              </tr>
            </thead>
            <tbody>
              {pools.data?.map((pool) => (
                <tr key={pool.id}>
                  <td>
                    <Link href={`/pools/${pool.id}`}>{pool.name}</Link>
                  </td>
                  <td className="num">{pool.modelCount}</td>
                  <td>
                    <span className="row">
                      {pool.backends.map((backend) => (backend === "simulated" ? <SimulatedBadge key={backend} /> : <span key={backend} className="badge">{backend}</span>))}
                    </span>
                  </td>
                  <td className="num">{pool.runCount}</td>
                  <td className="muted">{new Date(pool.createdAt).toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <div className="grid grid-2">
        <PresetForm />
        <NewPoolForm />
      </div>
    </div>
  );
}

function PresetForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const presets = useQuery(trpc.pools.presets.queryOptions());
  const [preset, setPreset] = useState("");
  const [name, setName] = useState("");
  const create = useMutation(
    trpc.pools.createFromPreset.mutationOptions({
      onSuccess: async (pool) => {
        await queryClient.invalidateQueries({ queryKey: trpc.pools.pathKey() });
        router.push(`/pools/${pool.id}`);
      },
    }),
  );
  const chosen = presets.data?.find((p) => p.name === (preset || presets.data?.[0]?.name));

  return (
    <section className="card">
      <div className="card-head">
        <h2>Create from a simulated preset</h2>
        <SimulatedBadge />
      </div>
      <p className="note">Simulated experts stand in for real models: fast, deterministic, for demos and tests.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (!chosen) return;
          create.mutate({ preset: chosen.name, name: name.trim() === "" ? undefined : name.trim() });
        }}
      >
        <div className="field">
          <label htmlFor="preset">preset</label>
          <select id="preset" value={chosen?.name ?? ""} onChange={(e) => setPreset(e.target.value)}>
            {presets.data?.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}: {p.description}
              </option>
            ))}
          </select>
          {chosen && <div className="help">models: {chosen.models.join(", ")}</div>}
        </div>
        <div className="field">
          <label htmlFor="preset-name">pool name</label>
          <input id="preset-name" type="text" value={name} placeholder={chosen ? `${chosen.name} (simulated)` : ""} onChange={(e) => setName(e.target.value)} />
        </div>
        {create.error && <p className="error">{errorMessage(create.error)}</p>}
        <button className="primary" type="submit" disabled={!chosen || create.isPending}>
          Create pool
        </button>
      </form>
    </section>
  );
}

function NewPoolForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const [name, setName] = useState("");
  const [draft, setDraft] = useState<ModelDraft>(emptyDraft("openai"));
  const [errors, setErrors] = useState<string[]>([]);
  const create = useMutation(
    trpc.pools.create.mutationOptions({
      onSuccess: async (pool) => {
        await queryClient.invalidateQueries({ queryKey: trpc.pools.pathKey() });
        router.push(`/pools/${pool.id}`);
      },
    }),
  );

  return (
    <section className="card">
      <h2>New pool</h2>
      <p className="note">Start with one model; add the others on the pool&apos;s page.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const result = draftToInput(draft);
          const problems = name.trim() === "" ? ["pool name: must not be empty"] : [];
          if (!result.ok) problems.push(...result.errors);
          setErrors(problems);
          if (problems.length === 0 && result.ok) create.mutate({ name: name.trim(), models: [result.input] });
        }}
      >
        <div className="field">
          <label htmlFor="pool-name">pool name</label>
          <input id="pool-name" type="text" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <ModelFields draft={draft} onChange={setDraft} hasStoredKey={false} idPrefix="new-pool" />
        {errors.length > 0 && <p className="error">{errors.join("\n")}</p>}
        {create.error && <p className="error">{errorMessage(create.error)}</p>}
        <button className="primary" type="submit" disabled={create.isPending}>
          Create pool
        </button>
      </form>
    </section>
  );
}
