import { createHash } from "node:crypto";
import { answersMatch, extractAnswer } from "../core/answers";
import type { GenerationRequest, GenerationResult, Item } from "../core/types";
import type { Backend } from "./backend";

// A simulated pool of heterogeneous experts: a stand-in for real LLMs on machines that cannot
// run them, used by the demo, the tests and the benchmarks. It is a simulator of skill, not a
// solver: it reads the item's gold answer and decides whether to give it.

/** One simulated expert: its parameter vector, in named parts. */
export interface SimulatedExpert {
  name: string;
  /** Chance of solving an item alone, per domain group (items map to groups by their `domain`). */
  skills: number[];
  /** Chance of adopting the majority of the previous responses instead of its own answer. */
  trust: number;
  /** Chance of recognising a correct answer when one of the previous responses has it. */
  verify: number;
  /** 0..1: how much reasoning text precedes the answer (it changes token counts only). */
  verbosity: number;
}

export interface SimulatedPoolSpec {
  name: string;
  description: string;
  experts: SimulatedExpert[];
}

const GROUPS = 4;

function domainExpert(name: string, group: number, strong: number, weak: number): SimulatedExpert {
  const skills = Array.from({ length: GROUPS }, (_, g) => (g === group ? strong : weak));
  return { name, skills, trust: 0.25, verify: 0.3, verbosity: 0.4 };
}

function generalist(name: string, skill: number, trust: number, verify: number, verbosity: number): SimulatedExpert {
  return { name, skills: new Array(GROUPS).fill(skill), trust, verify, verbosity };
}

/**
 * Presets with real structure, so that the search has something to find:
 * - complementary: four domain experts, each strong on one quarter of the domains, one verifier
 *   that rarely solves alone but recognises a correct previous response, and one weak model
 *   that copies what it is shown.
 * - complementary-10: the same kinds in a pool of ten models, the pool size of Feng et al. 2025.
 * - homogeneous: five similar generalists, where collaboration has little to add.
 */
export const SIMULATED_PRESETS: Record<string, SimulatedPoolSpec> = {
  complementary: {
    name: "complementary",
    description: "4 domain experts, 1 verifier, 1 weak model",
    experts: [
      domainExpert("expert-a", 0, 0.85, 0.3),
      domainExpert("expert-b", 1, 0.85, 0.3),
      domainExpert("expert-c", 2, 0.85, 0.3),
      domainExpert("expert-d", 3, 0.85, 0.3),
      generalist("verifier", 0.35, 0.1, 0.92, 0.7),
      generalist("weak", 0.15, 0.7, 0.1, 0.2),
    ],
  },
  "complementary-10": {
    name: "complementary-10",
    description: "6 domain experts, 2 verifiers, 1 generalist, 1 weak model",
    experts: [
      domainExpert("expert-a", 0, 0.8, 0.3),
      domainExpert("expert-b", 1, 0.8, 0.3),
      domainExpert("expert-c", 2, 0.8, 0.3),
      domainExpert("expert-d", 3, 0.8, 0.3),
      domainExpert("expert-a2", 0, 0.7, 0.35),
      domainExpert("expert-c2", 2, 0.7, 0.35),
      generalist("verifier", 0.35, 0.1, 0.9, 0.7),
      generalist("verifier-2", 0.3, 0.15, 0.8, 0.5),
      generalist("generalist", 0.5, 0.3, 0.4, 0.5),
      generalist("weak", 0.15, 0.7, 0.1, 0.2),
    ],
  },
  homogeneous: {
    name: "homogeneous",
    description: "5 similar generalists",
    experts: [0, 1, 2, 3, 4].map((i) => generalist(`generalist-${i + 1}`, 0.5 + 0.02 * i, 0.3, 0.3, 0.5)),
  },
};

/** Validates a pool description, naming the expert and field at fault. */
export function validateSimulatedPool(spec: SimulatedPoolSpec): void {
  if (spec.experts.length === 0) throw new Error(`simulated pool "${spec.name}" must have at least one expert`);
  spec.experts.forEach((expert, i) => {
    const where = `simulated pool "${spec.name}", expert ${i} (${expert.name})`;
    if (!Array.isArray(expert.skills) || expert.skills.length === 0) {
      throw new Error(`${where}: skills must be a non-empty array of numbers in [0, 1]`);
    }
    if (expert.skills.length !== spec.experts[0].skills.length) {
      throw new Error(`${where}: skills must have ${spec.experts[0].skills.length} entries like expert 0, but has ${expert.skills.length}`);
    }
    for (const [field, value] of [...expert.skills.map((s, g) => [`skills[${g}]`, s] as const), ["trust", expert.trust] as const, ["verify", expert.verify] as const, ["verbosity", expert.verbosity] as const]) {
      if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
        throw new Error(`${where}: ${field} must be a number in [0, 1], but got ${JSON.stringify(value)}`);
      }
    }
  });
}

/** Largest chance a strength can express; keeps θ = −ln(1 − p) finite. */
const MAX_CHANCE = 0.995;

function strength(chance: number): number {
  return -Math.log(1 - Math.min(chance, MAX_CHANCE));
}

function parameterVector(expert: SimulatedExpert): number[] {
  return [...expert.skills.map(strength), expert.trust, strength(expert.verify), expert.verbosity];
}

/**
 * Backend that answers as the simulated experts would. Merged weights are the same linear
 * combination of the experts' parameter vectors, so the weight-step moves real parameters.
 * Answers are a pure function of (parameters, item, prompt, seed), so the cache and resume
 * are exact.
 */
export class SimulatedBackend implements Backend {
  private readonly vectors: number[][];
  private readonly groupOfDomain = new Map<string, number>();
  private readonly groups: number;

  constructor(
    readonly pool: SimulatedPoolSpec,
    domains: readonly string[],
    private readonly seed = 0,
  ) {
    validateSimulatedPool(pool);
    this.vectors = pool.experts.map(parameterVector);
    this.groups = pool.experts[0].skills.length;
    // Domains are spread over the skill groups in sorted order, so every group gets some items.
    [...new Set(domains)].sort().forEach((domain, i) => this.groupOfDomain.set(domain, i % this.groups));
  }

  modelIdentity(model: number): string {
    return `simulated:${this.pool.name}:${this.seed}:${model}`;
  }

  async generate(request: GenerationRequest): Promise<GenerationResult> {
    const text = this.answer(request);
    return { text, promptTokens: Math.ceil(request.prompt.length / 4), completionTokens: Math.ceil(text.length / 4) };
  }

  /**
   * Returns the model's parameters under the given coefficients: the linear combination Σ c_k θ_k of the
   * experts' parameter vectors. Skills and verification are stored as strengths θ = −ln(1 − p), so
   * a convex merge of two experts has chance 1 − Π(1 − p_k)^c_k, at least the linear mix of
   * their chances. This is a modelling choice of the simulator, so that the weight-step has
   * something to gain.
   * Negative coefficients stand for subtracted adapters: small ones are nearly free, large ones
   * break the model, by the factor exp(−(Σ max(0, −c_k))²). PSO moves keep Σ c_k = 1, since every move is a difference of positions.
   */
  parameters(model: number, coefficients: number[] | null): number[] {
    const weights = coefficients ?? this.vectors.map((_, k) => (k === model ? 1 : 0));
    if (weights.length !== this.vectors.length) {
      throw new Error(`coefficients must have ${this.vectors.length} entries (one per expert), but got ${weights.length}`);
    }

    const merged = new Array<number>(this.vectors[0].length).fill(0);
    let negative = 0;
    weights.forEach((c, k) => {
      negative += Math.max(0, -c);
      if (c !== 0) this.vectors[k].forEach((value, d) => (merged[d] += c * value));
    });

    const interference = Math.exp(-(negative * negative));
    return merged.map((value, d) => {
      const chance = this.isStrength(d) ? (1 - Math.exp(-Math.max(0, value))) * interference : value;
      return Math.min(1, Math.max(0, chance));
    });
  }

  /** Skills and verification are strengths; trust and verbosity are plain chances. */
  private isStrength(index: number): boolean {
    return index < this.groups || index === this.groups + 1;
  }

  private answer(request: GenerationRequest): string {
    const { item } = request;
    const params = this.parameters(request.model, request.coefficients);
    const skill = params[this.groupOf(item)];
    const [trust, verify, verbosity] = params.slice(this.groups);
    // Mistakes are correlated per lineage: merged models inherit the draws of their dominant expert.
    const lineage = dominant(request.coefficients, request.model);
    const itemHash = this.hashOf(item);

    const paramsKey = params.map((p) => p.toFixed(6)).join(",");
    const callDraw = (salt: string) => uniform(`${this.seed}|${paramsKey}|${itemHash}|${salt}|${request.prompt}`);

    const candidates = request.previousResponses.map((text) => extractAnswer(text, item)).filter((a): a is string => a !== null);
    const goldAmong = candidates.some((candidate) => answersMatch(candidate, item));

    let answer: string;
    let lead: string;
    if (goldAmong && callDraw("verify") < verify) {
      answer = item.answer;
      lead = "Checking the previous responses, one of them is right.";
    } else if (candidates.length > 0 && callDraw("trust") < trust) {
      answer = majority(candidates);
      lead = "I agree with the previous responses.";
    } else if (this.solvesAlone(itemHash, lineage, skill)) {
      answer = item.answer;
      lead = "";
    } else {
      answer = wrongAnswer(item, uniform(`${this.seed}|${itemHash}|${lineage}|wrong`));
      lead = "";
    }

    // Like an instruction-following model, it replies in the format a judge prompt requests.
    if (RATING_REQUEST.test(request.prompt)) return `Rating: ${answer}/10`;
    return render(answer, lead, verbosity, uniform(`${this.seed}|${itemHash}|${lineage}|style`));
  }

  /** Shared difficulty plus a per-lineage draw, so that hard items are hard for every model. */
  private solvesAlone(itemHash: string, lineage: number, skill: number): boolean {
    const difficulty = 0.7 * uniform(`${this.seed}|${itemHash}|difficulty`) + 0.3 * uniform(`${this.seed}|${itemHash}|${lineage}|luck`);
    return skill > difficulty;
  }

  private groupOf(item: Item): number {
    const domain = item.domain ?? "";
    const known = this.groupOfDomain.get(domain);
    if (known !== undefined) return known;
    return Math.floor(uniform(`domain|${domain}`) * this.groups);
  }

  private readonly itemHashes = new WeakMap<Item, string>();

  private hashOf(item: Item): string {
    let hash = this.itemHashes.get(item);
    if (hash === undefined) {
      hash = createHash("sha1").update(JSON.stringify([item.question, item.answer, item.choices ?? null])).digest("hex").slice(0, 16);
      this.itemHashes.set(item, hash);
    }
    return hash;
  }
}

/** Uniform draw in [0, 1) from a string, via the first 48 bits of its SHA-1. */
function uniform(material: string): number {
  const digest = createHash("sha1").update(material).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

function dominant(coefficients: number[] | null, model: number): number {
  if (coefficients === null) return model;
  let best = 0;
  for (let k = 1; k < coefficients.length; k++) if (coefficients[k] > coefficients[best]) best = k;
  return best;
}

function majority(candidates: string[]): string {
  const counts = new Map<string, number>();
  let winner = candidates[0];
  for (const candidate of candidates) {
    const count = (counts.get(candidate) ?? 0) + 1;
    counts.set(candidate, count);
    if (count > (counts.get(winner) ?? 0)) winner = candidate;
  }
  return winner;
}

/** Returns a plausible wrong answer: another choice, a nearby number, or the opposite yes/no. */
export function wrongAnswer(item: Item, draw: number): string {
  if (item.choices) {
    const others = Object.keys(item.choices).filter((key) => key !== item.answer);
    return others[Math.floor(draw * others.length)] ?? item.answer;
  }

  const gold = item.answer.trim();
  const opposites: Record<string, string> = { yes: "No", no: "Yes", true: "False", false: "True" };
  const opposite = opposites[gold.toLowerCase()];
  if (opposite) return opposite;

  const value = Number(gold.replace(/,/g, ""));
  if (Number.isFinite(value) && gold !== "") {
    const nudges = [1, -1, 2, 10, -2, 5];
    const nudged = Math.floor(draw * (nudges.length + 1)) === nudges.length ? value * 2 || 1 : value + nudges[Math.floor(draw * nudges.length)];
    return String(nudged === value ? value + 1 : nudged);
  }
  return "I am not sure";
}

const RATING_REQUEST = /Reply with "Rating: N\/10"/;

const REASONING = [
  "Let me think about this step by step.",
  "First, I restate what the question asks for.",
  "Then I work through each part of it carefully.",
];

const FORMATS = [(answer: string) => `The answer is ${answer}.`, (answer: string) => `Answer: ${answer}`, (answer: string) => `Therefore, the final answer is ${answer}.`];

function render(answer: string, lead: string, verbosity: number, draw: number): string {
  const reasoning = REASONING.slice(0, Math.round(verbosity * REASONING.length));
  const final = FORMATS[Math.floor(draw * FORMATS.length)](answer);
  return [lead, ...reasoning, final].filter((part) => part !== "").join(" ");
}
