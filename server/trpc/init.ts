import { randomBytes } from "node:crypto";
import { initTRPC, TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import type PgBoss from "pg-boss";
import type { Logger } from "pino";
import { ZodError } from "zod";
import { DatasetError } from "../core/dataset";
import type { PrismaClient } from "../db/client";
import { OperationalError } from "../errors";
import type { RunEventListener } from "../events/listener";
import { logger } from "../log";

// tRPC set-up shared by every router: the request context, the error mapping and the
// procedure builder.

export interface Context {
  prisma: PrismaClient;
  /** The job queue, started on first use. Only procedures that enqueue a run call it. */
  boss: () => Promise<PgBoss>;
  /** The shared LISTEN connection. Only run subscriptions call it. */
  runEvents: () => RunEventListener;
  logger: Logger;
}

/** Message of every 5xx error sent to a client. The details stay in the server log. */
export const INTERNAL_ERROR_MESSAGE = "Internal server error. The server log has the details under this error id";

/** TRPCErrors built by toPublicError, so that the formatter can tell them from unmapped ones. */
const publicErrors = new WeakSet<TRPCError>();

const t = initTRPC.context<Context>().create({
  // Pings keep proxies from closing an idle run stream, and the client reconnects after 3 missed pings.
  sse: { ping: { enabled: true, intervalMs: 10_000 }, client: { reconnectAfterInactivityMs: 30_000 } },
  errorFormatter({ shape, error, ctx, path }) {
    // Errors raised outside the mapping middleware (context creation, a subscription's stream)
    // reach the client through here, so they are mapped the same way.
    // Without a context (its creation failed, e.g. the database is down) the server logger is used.
    const mapped = publicErrors.has(error) ? error : toPublicError(error, ctx?.logger ?? logger, path);
    const { stack: _stack, ...data } = shape.data;
    return {
      ...shape,
      message: mapped.message,
      code: TRPC_ERROR_CODES_BY_KEY[mapped.code],
      data: { ...data, code: mapped.code, httpStatus: getHTTPStatusCodeFromError(mapped) },
    };
  },
});

/**
 * Converts any error thrown by a procedure into the error sent to the client:
 * - OperationalError keeps its code and message.
 * - zod errors (invalid input) and dataset errors become BAD_REQUEST with a readable message.
 * - any other TRPCError except INTERNAL_SERVER_ERROR passes unchanged.
 * - anything else is logged with an error id and becomes INTERNAL_SERVER_ERROR with a generic
 *   message, so that no stack, SQL or secret reaches the client.
 */
export function toPublicError(error: unknown, logger: Logger | undefined, path: string | undefined): TRPCError {
  const cause = error instanceof TRPCError && error.cause !== undefined ? error.cause : error;

  let mapped: TRPCError;
  if (cause instanceof OperationalError && cause.code !== "INTERNAL_SERVER_ERROR") {
    mapped = new TRPCError({ code: cause.code, message: cause.message, cause });
  } else if (cause instanceof ZodError) {
    mapped = new TRPCError({ code: "BAD_REQUEST", message: formatZodError(cause), cause });
  } else if (cause instanceof DatasetError) {
    mapped = new TRPCError({ code: "BAD_REQUEST", message: cause.message, cause });
  } else if (error instanceof TRPCError && error.code !== "INTERNAL_SERVER_ERROR") {
    // Raised on purpose by a procedure or by tRPC itself (unknown path, wrong method): safe to show.
    mapped = error;
  } else {
    const errorId = randomBytes(6).toString("hex");
    logger?.error({ err: cause, errorId, path }, "procedure failed with an unexpected error");
    mapped = new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: `${INTERNAL_ERROR_MESSAGE}: ${errorId}.` });
    publicErrors.add(mapped);
    return mapped;
  }

  logger?.debug({ path, code: mapped.code, message: mapped.message }, "procedure rejected the request");
  publicErrors.add(mapped);
  return mapped;
}

/** Formats a zod error with one line per issue, e.g. "config.graphs: Too small: expected number to be >=2". */
export function formatZodError(error: ZodError): string {
  const lines = error.issues.map((issue) => {
    const where = issue.path.length === 0 ? "input" : issue.path.map(String).join(".");
    return `${where}: ${issue.message}`;
  });
  return `Invalid input.\n${lines.join("\n")}`;
}

const mapErrors = t.middleware(async ({ ctx, path, next }) => {
  const result = await next();
  if (!result.ok) throw toPublicError(result.error, ctx.logger, path);
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const procedure = t.procedure.use(mapErrors);
