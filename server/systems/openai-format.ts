import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { StoredSystemRun } from "./run";

// Request and response bodies of the OpenAI-compatible API, in the shapes of OpenAI's Chat
// Completions and Models endpoints (https://platform.openai.com/docs/api-reference/chat).

const contentPartSchema = z.looseObject({ type: z.string(), text: z.string().optional() }).superRefine((part, context) => {
  if (part.type !== "text") {
    context.addIssue({ code: "custom", path: ["type"], message: `must be "text", because systems read text only, but got "${part.type}"` });
  } else if (typeof part.text !== "string") {
    context.addIssue({ code: "custom", path: ["text"], message: "must be a string" });
  }
});

const messageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(contentPartSchema)], { error: "must be a string or an array of text parts" }).nullish(),
});

/**
 * Body of POST /chat/completions. Other fields that OpenAI defines (temperature, max_tokens,
 * stop and so on) are accepted and ignored, because a system runs with the generation settings
 * of the search that found it.
 */
export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().trim().min(1, { error: "must be the id of a system" }),
  messages: z.array(messageSchema).min(1, { error: "must contain at least one message" }),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.literal(1, { error: "must be 1, because a system returns one answer per request" }).nullish(),
});

export type ChatCompletionRequest = z.output<typeof chatCompletionRequestSchema>;

/** A request the API rejects, with the fields of OpenAI's error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Body of an error response: `{error: {message, type, param, code}}`. */
export function errorBody(error: ApiError) {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}

/** Converts the first zod issue to a 400 error whose `param` is the field's path, e.g. "messages.0.content". */
export function invalidRequest(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  const param = issue.path.length === 0 ? null : issue.path.map(String).join(".");
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more invalid fields)` : "";
  return new ApiError(400, `Invalid request: ${param ?? "body"}: ${issue.message}${more}.`, "invalid_request_error", param, "invalid_value");
}

/**
 * Returns the question of a conversation: the text of its last user message. System, developer,
 * assistant and earlier user messages are ignored, because every node's prompt is built from the
 * system's own templates and the question alone, as during the search.
 */
export function questionOf(request: ChatCompletionRequest): string {
  for (let index = request.messages.length - 1; index >= 0; index--) {
    const message = request.messages[index];
    if (message.role !== "user") continue;

    const content = message.content ?? "";
    const text = typeof content === "string" ? content : content.map((part) => part.text ?? "").join("\n");
    if (text.trim() === "") {
      throw new ApiError(400, `Invalid request: messages.${index}.content: the last user message must not be empty.`, "invalid_request_error", `messages.${index}.content`, "invalid_value");
    }
    return text;
  }
  throw new ApiError(400, "Invalid request: messages: must contain a user message, whose text is the question.", "invalid_request_error", "messages", "invalid_value");
}

/** Unix time in whole seconds, the unit of OpenAI's `created` fields. */
export function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

export function completionId(): string {
  return `chatcmpl-${randomBytes(12).toString("hex")}`;
}

function usageOf(run: StoredSystemRun) {
  const { promptTokens, completionTokens } = run.usage;
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** Builds a `chat.completion` object whose one choice is the system's answer. */
export function chatCompletion(run: StoredSystemRun, id: string, created: number) {
  return {
    id,
    object: "chat.completion" as const,
    created,
    model: run.systemId,
    choices: [{ index: 0, message: { role: "assistant" as const, content: run.answer, refusal: null }, logprobs: null, finish_reason: "stop" as const }],
    usage: usageOf(run),
    system_fingerprint: null,
  };
}

/** Builds one `chat.completion.chunk` of a stream. `usage` is null on every chunk except the optional last one. */
export function chatCompletionChunk(
  id: string,
  created: number,
  model: string,
  delta: { role?: "assistant"; content?: string } | null,
  finishReason: "stop" | null = null,
  run: StoredSystemRun | null = null,
) {
  return {
    id,
    object: "chat.completion.chunk" as const,
    created,
    model,
    choices: delta === null ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    usage: run === null ? null : usageOf(run),
    system_fingerprint: null,
  };
}

/** Builds a system's entry in the Models list. Its id is the `model` that a completion request names. */
export function modelObject(system: { id: string; createdAt: Date }) {
  return { id: system.id, object: "model" as const, created: unixSeconds(system.createdAt), owned_by: "hswarm" };
}
