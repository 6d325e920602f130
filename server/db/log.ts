import { pino, type Logger } from "pino";

export type { Logger };

/** Logger of the database layer. LOG_LEVEL sets its level, "info" by default. */
export const dbLogger: Logger = pino({ name: "hswarm-db", level: process.env.LOG_LEVEL ?? "info" });
