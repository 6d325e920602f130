import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { PrismaClient } from "../db/client";
import { OperationalError } from "../errors";
import { findBackendError } from "../llm/errors";
import type { Logger } from "../log";
import {
  ApiError,
  chatCompletion,
  chatCompletionChunk,
  chatCompletionRequestSchema,
  completionId,
  errorBody,
  invalidRequest,
  modelObject,
  questionOf,
  unixSeconds,
  type ChatCompletionRequest,
} from "./openai-format";
import { runStoredSystem, type RunStoredSystemOptions, type StoredSystemRun } from "./run";

// The OpenAI-compatible API of stored systems, as fetch-style handlers (Request in, Response
// out) that the Next.js route handlers under app/api/v1 call. A system's id is its model name,
// and a completion runs the system's whole DAG on the last user message.

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Interval of the SSE comments that keep a stream open while the DAG runs, in milliseconds. */
const KEEP_ALIVE_MS = 15_000;

export interface OpenAIApiOptions {
  /** The database, opened on first use. */
  prisma: () => Promise<PrismaClient>;
  /** Access key that clients must send as `Authorization: Bearer <key>`; undefined or empty turns the check off. */
  apiKey: () => string | undefined;
  logger: Logger;
  run?: RunStoredSystemOptions;
}

export interface OpenAIApi {
  /** GET /models: every stored system. */
  listModels(request: Request): Promise<Response>;
  /** GET /models/{model}: one system, or 404. */
  retrieveModel(request: Request, model: string): Promise<Response>;
  /** POST /chat/completions: the system's answer, as one JSON object or as an SSE stream. */
  createChatCompletion(request: Request): Promise<Response>;
}

export function createOpenAIApi(options: OpenAIApiOptions): OpenAIApi {
  const { logger } = options;

  /** Runs a handler after the access check, and turns any error it throws into an OpenAI error response. */
  async function handle(request: Request, route: string, handler: () => Promise<Response>): Promise<Response> {
    try {
      checkAccess(request, options.apiKey());
      return await handler();
    } catch (error) {
      const apiError = toApiError(error, route, logger);
      return jsonResponse(apiError.status, errorBody(apiError), apiError.status === 401 ? { "www-authenticate": "Bearer" } : {});
    }
  }

  return {
    listModels: (request) =>
      handle(request, "GET /models", async () => {
        const prisma = await options.prisma();
        const systems = await prisma.system.findMany({ orderBy: { createdAt: "desc" }, select: { id: true, createdAt: true } });
        return jsonResponse(200, { object: "list", data: systems.map(modelObject) });
      }),

    retrieveModel: (request, model) =>
      handle(request, "GET /models/{model}", async () => {
        const prisma = await options.prisma();
        const system = await prisma.system.findUnique({ where: { id: model }, select: { id: true, createdAt: true } });
        if (system === null) throw modelNotFound(model);
        return jsonResponse(200, modelObject(system));
      }),

    createChatCompletion: (request) =>
      handle(request, "POST /chat/completions", async () => {
        const body = chatCompletionRequestSchema.safeParse(await readJson(request));
        if (!body.success) throw invalidRequest(body.error);
        const question = questionOf(body.data);

        const prisma = await options.prisma();
        const exists = await prisma.system.count({ where: { id: body.data.model } });
        if (exists === 0) throw modelNotFound(body.data.model);

        const id = completionId();
        const created = unixSeconds(new Date());
        const run = () => runStoredSystem(prisma, body.data.model, question, options.run);
        if (body.data.stream === true) return streamCompletion(body.data, id, created, run, logger);

        const started = Date.now();
        const result = await run();
        logger.debug({ systemId: result.systemId, nodes: result.nodes.length, ms: Date.now() - started }, "chat completion returned");
        return jsonResponse(200, chatCompletion(result, id, created));
      }),
  };
}

/** Throws 401 unless the request carries the expected key; compares SHA-256 digests in constant time. */
function checkAccess(request: Request, expected: string | undefined): void {
  const key = expected?.trim();
  if (!key) return;

  const header = request.headers.get("authorization");
  const match = header === null ? null : /^Bearer\s+(\S.*)$/i.exec(header.trim());
  if (match === null) {
    throw new ApiError(401, "Missing API key: send it in the header 'Authorization: Bearer <key>'.", "invalid_request_error", null, "missing_api_key");
  }
  const presentedDigest = createHash("sha256").update(match[1].trim()).digest();
  const expectedDigest = createHash("sha256").update(key).digest();
  if (!timingSafeEqual(presentedDigest, expectedDigest)) {
    throw new ApiError(401, "Invalid API key: it does not match the server's HSWARM_API_KEY.", "invalid_request_error", null, "invalid_api_key");
  }
}

async function readJson(request: Request): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw bodyTooLarge(declared);

  const text = await request.text();
  const size = Buffer.byteLength(text);
  if (size > MAX_BODY_BYTES) throw bodyTooLarge(size);
  if (text.trim() === "") throw new ApiError(400, "Invalid request: the body must be a JSON object, but it is empty.", "invalid_request_error");

  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, `Invalid request: the body is not valid JSON: ${(error as Error).message}.`, "invalid_request_error");
  }
}

function bodyTooLarge(bytes: number): ApiError {
  return new ApiError(413, `Request body too large: ${bytes} bytes, but the maximum is ${MAX_BODY_BYTES}.`, "invalid_request_error", null, "request_too_large");
}

function modelNotFound(model: string): ApiError {
  return new ApiError(
    404,
    `The model '${model}' does not exist: a model name must be the id of a stored system, and GET /api/v1/models lists them.`,
    "invalid_request_error",
    "model",
    "model_not_found",
  );
}

/**
 * Maps an error to the response's error:
 * - ApiError as it is, and OperationalError by its code (NOT_FOUND is an unknown model),
 * - a failed model call to 503 when a retry may pass and 502 otherwise, naming the model,
 * - anything else to 500 with an error id, logged with the details, which stay on the server.
 */
function toApiError(error: unknown, route: string, logger: Logger): ApiError {
  if (error instanceof ApiError) {
    logger.debug({ route, status: error.status, code: error.code }, "request rejected");
    return error;
  }

  if (error instanceof OperationalError && error.code !== "INTERNAL_SERVER_ERROR") {
    if (error.code === "NOT_FOUND") return new ApiError(404, error.message, "invalid_request_error", "model", "model_not_found");
    return new ApiError(error.code === "CONFLICT" ? 409 : 400, error.message, "invalid_request_error");
  }

  const backendError = findBackendError(error);
  if (backendError !== null) {
    logger.warn({ route, model: backendError.model, endpoint: backendError.endpoint, retryable: backendError.retryable, err: backendError.message }, "a model call of the system failed");
    const where = backendError.endpoint === null ? `model "${backendError.model}"` : `model "${backendError.model}" at ${backendError.endpoint}`;
    return new ApiError(backendError.retryable ? 503 : 502, `A model call of the system failed: ${where}: ${backendError.message}`, "server_error", null, "backend_error");
  }

  const errorId = randomBytes(6).toString("hex");
  logger.error({ err: error, errorId, route }, "request failed with an unexpected error");
  return new ApiError(500, `Internal server error. The server log has the details under error id ${errorId}.`, "server_error");
}

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store", ...headers } });
}

/**
 * Streams the completion as Server-Sent Events: a first chunk with the assistant role at once,
 * then the whole answer in one chunk once the DAG has run (no node streams tokens), a chunk
 * with finish_reason "stop", the usage chunk when `stream_options.include_usage` is set, and
 * `data: [DONE]`. A failure after the first chunk is sent as `data: {"error": …}` without [DONE].
 */
function streamCompletion(request: ChatCompletionRequest, id: string, created: number, run: () => Promise<StoredSystemRun>, logger: Logger): Response {
  const encoder = new TextEncoder();
  const model = request.model;
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  let cancelled = false;

  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      // After the client disconnects the stream is cancelled, and writing to it would throw.
      const write = (text: string) => {
        if (!cancelled) controller.enqueue(encoder.encode(text));
      };
      const send = (data: unknown) => write(`data: ${JSON.stringify(data)}\n\n`);
      send(chatCompletionChunk(id, created, model, { role: "assistant", content: "" }));
      keepAlive = setInterval(() => write(": running the system\n\n"), KEEP_ALIVE_MS);

      try {
        const result = await run();
        send(chatCompletionChunk(id, created, model, { content: result.answer }));
        send(chatCompletionChunk(id, created, model, {}, "stop"));
        if (request.stream_options?.include_usage === true) send(chatCompletionChunk(id, created, model, null, null, result));
        write("data: [DONE]\n\n");
      } catch (error) {
        send(errorBody(toApiError(error, "POST /chat/completions (stream)", logger)));
      } finally {
        clearInterval(keepAlive);
        if (!cancelled) controller.close();
      }
    },
    cancel() {
      // NOTE: the DAG keeps running to its end after the client disconnects, because backends take no abort signal.
      cancelled = true;
      clearInterval(keepAlive);
    },
  });

  return new Response(stream, { status: 200, headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" } });
}
