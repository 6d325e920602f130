import { openAIApi } from "../../../../../server/systems/next-api";

// GET /api/v1/models/{model}: one stored system in OpenAI's Model shape, or 404.

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(request: Request, { params }: { params: Promise<{ model: string }> }): Promise<Response> {
  const { model } = await params;
  return openAIApi.retrieveModel(request, model);
}
