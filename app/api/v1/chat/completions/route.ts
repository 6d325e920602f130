import { openAIApi } from "../../../../../server/systems/next-api";

// POST /api/v1/chat/completions: runs the system named by `model` on the last user message and
// returns its answer as an OpenAI chat completion, streamed as SSE when `stream` is true.

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export function POST(request: Request): Promise<Response> {
  return openAIApi.createChatCompletion(request);
}
