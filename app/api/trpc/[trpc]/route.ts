import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createRequestContext } from "../../../../server/trpc/next-context";
import { appRouter } from "../../../../server/trpc/root";

// Every tRPC procedure, at /api/trpc/<router>.<procedure>: queries by GET, mutations by POST,
// and subscriptions as Server-Sent Events by GET.

// The database, pg-boss and LISTEN need Node.js APIs, and no response may be cached.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

function handler(request: Request): Promise<Response> {
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: createRequestContext,
  });
}

export { handler as GET, handler as POST };
