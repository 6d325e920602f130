import type { PrismaClient } from "../../generated/prisma/client";
import type { GenerationResult } from "../core/types";
import type { CacheStore } from "./cache";

/**
 * Generation cache entries in the database, so that a paid backend call survives the worker
 * process: a resumed or repeated run reads the entry instead of calling the model again.
 * Concurrent writers of one key keep the first entry, because greedy decoding gives both the
 * same text.
 */
export class DatabaseCacheStore implements CacheStore {
  constructor(private readonly prisma: Pick<PrismaClient, "generationCacheEntry">) {}

  async get(key: string): Promise<GenerationResult | undefined> {
    const row = await this.prisma.generationCacheEntry.findUnique({ where: { key } });
    if (row === null) return undefined;

    const result: GenerationResult = { text: row.text };
    if (row.promptTokens !== null) result.promptTokens = row.promptTokens;
    if (row.completionTokens !== null) result.completionTokens = row.completionTokens;
    return result;
  }

  async set(key: string, result: GenerationResult): Promise<void> {
    // PostgreSQL text cannot hold NUL characters. Such an output stays in the in-memory cache
    // only, so a resumed run calls the model for it again rather than read back altered text.
    if (result.text.includes("\u0000")) return;

    // createMany with skipDuplicates is INSERT … ON CONFLICT DO NOTHING.
    await this.prisma.generationCacheEntry.createMany({
      data: [{ key, text: result.text, promptTokens: result.promptTokens ?? null, completionTokens: result.completionTokens ?? null }],
      skipDuplicates: true,
    });
  }
}
