import { openAIApi } from "../../../../server/systems/next-api";

// GET /api/v1/models: the stored systems in OpenAI's Models list shape.

// The database needs Node.js APIs, and no response may be cached.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export function GET(request: Request): Promise<Response> {
  return openAIApi.listModels(request);
}
