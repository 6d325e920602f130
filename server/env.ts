import "server-only";
import { z } from "zod";

// Environment of the web server, validated once at first use so that a typo fails at start-up
// with the variable's name instead of deep inside a request.

const emptyToUndefined = (value: unknown) => (typeof value === "string" && value.trim() === "" ? undefined : value);

const serverEnvSchema = z.object({
  /** PostgreSQL URL. Unset: the embedded server in HSWARM_EMBEDDED_PG_DIR (server/db/embedded.ts). */
  DATABASE_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, { error: "must be a postgres:// or postgresql:// URL" })
      .optional(),
  ),
  /** When set, the OpenAI-compatible API under /api/v1 requires "Authorization: Bearer <key>". */
  HSWARM_API_KEY: z.preprocess(emptyToUndefined, z.string().optional()),
  HSWARM_EMBEDDED_PG_DIR: z.preprocess(emptyToUndefined, z.string().optional()),
  HSWARM_EMBEDDED_PG_PORT: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(65535).optional()),
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  ),
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
});

export type ServerEnv = z.output<typeof serverEnvSchema>;

/** Validates the server's variables and throws one error that lists every invalid variable. */
export function parseServerEnv(env: NodeJS.ProcessEnv): ServerEnv {
  const result = serverEnvSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`Invalid server environment:\n${lines.join("\n")}`);
  }
  return result.data;
}

let cached: ServerEnv | undefined;

/** Returns the validated environment of this process, reading it on the first call. */
export function serverEnv(): ServerEnv {
  cached ??= parseServerEnv(process.env);
  return cached;
}
