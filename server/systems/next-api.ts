import "server-only";
import { logger } from "../log";
import { createRequestContext } from "../trpc/next-context";
import { createOpenAIApi } from "./openai-api";

/**
 * The OpenAI-compatible API as the Next.js server serves it: over the database that the tRPC
 * API shares, with HSWARM_API_KEY read on every request.
 */
export const openAIApi = createOpenAIApi({
  prisma: async () => (await createRequestContext()).prisma,
  apiKey: () => process.env.HSWARM_API_KEY,
  logger: logger.child({ module: "openai-api" }),
});
