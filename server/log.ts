import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Logger of the server processes (web server and worker), as JSON lines on stdout.
 * LOG_LEVEL sets the level, "info" by default. Fields that can carry a secret are redacted, and
 * callers log ids and sizes, never whole prompts or outputs.
 */
export const logger: Logger = pino({
  name: "hswarm",
  level: process.env.LOG_LEVEL ?? "info",
  redact: { paths: ["apiKey", "*.apiKey", "headers.authorization", "*.headers.authorization"], censor: "[redacted]" },
});
