import pg from "pg";
import { logger as serverLogger, type Logger } from "../log";
import { RUN_EVENTS_CHANNEL, runNotificationSchema, type RunNotification } from "../runs/contracts";

// One LISTEN connection per web-server process, shared by every open run subscription. The
// worker NOTIFYs on RUN_EVENTS_CHANNEL after each committed change of a run, and this module
// fans the notifications out by run id.

export interface RunEventSubscriber {
  /** Receives every notification about the subscribed run. */
  onNotification(notification: RunNotification): void;
  /**
   * Runs after the connection was re-established. PostgreSQL does not queue notifications for
   * a closed session, so any sent while it was down are lost and the subscriber must re-read
   * the run from the database.
   */
  onResync(): void;
}

export interface RunEventSubscription {
  unsubscribe(): void;
}

export interface RunEventListenerOptions {
  logger?: Logger;
  /** Delay before reconnect attempt `attempt` (1, 2, …), in milliseconds. Default: 0.5 s doubling up to 30 s. */
  reconnectDelayMs?: (attempt: number) => number;
}

/** application_name of the LISTEN session, which makes it easy to find in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = "hswarm-run-events";

const defaultReconnectDelay = (attempt: number) => Math.min(30_000, 500 * 2 ** (attempt - 1));

const defaultLogger = serverLogger.child({ module: "run-events" });

export class RunEventListener {
  private readonly logger: Logger;
  private readonly reconnectDelayMs: (attempt: number) => number;
  private readonly subscribers = new Map<string, Set<RunEventSubscriber>>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failedAttempts = 0;
  private invalidPayloads = 0;
  private closed = false;

  constructor(
    private readonly url: string,
    options: RunEventListenerOptions = {},
  ) {
    this.logger = options.logger ?? defaultLogger;
    this.reconnectDelayMs = options.reconnectDelayMs ?? defaultReconnectDelay;
  }

  /**
   * Registers a subscriber for one run. Resolves once LISTEN is active, so every notification
   * committed after the returned promise settles reaches the subscriber. Rejects when the
   * database cannot be reached, and the subscriber is then not registered.
   */
  async subscribe(runId: string, subscriber: RunEventSubscriber): Promise<RunEventSubscription> {
    if (this.closed) throw new Error("the run event listener is closed");

    let forRun = this.subscribers.get(runId);
    if (!forRun) {
      forRun = new Set();
      this.subscribers.set(runId, forRun);
    }
    forRun.add(subscriber);
    const unsubscribe = () => {
      forRun.delete(subscriber);
      if (forRun.size === 0 && this.subscribers.get(runId) === forRun) this.subscribers.delete(runId);
    };

    try {
      await this.ensureListening();
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return { unsubscribe };
  }

  /** Returns the number of subscribers of a run, for tests and diagnostics. */
  subscriberCount(runId: string): number {
    return this.subscribers.get(runId)?.size ?? 0;
  }

  /** Ends the connection and stops reconnecting. Subscribers receive nothing more. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.subscribers.clear();

    const client = this.client;
    this.client = null;
    await this.connecting?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }

  private ensureListening(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: LISTENER_APPLICATION_NAME });
    client.on("notification", (message) => this.dispatch(message));
    client.on("error", (error) => this.handleDisconnect(client, error));
    client.on("end", () => this.handleDisconnect(client, null));

    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(RUN_EVENTS_CHANNEL)}`);
    } catch (error) {
      client.removeAllListeners();
      await client.end().catch(() => undefined);
      throw error;
    }

    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  private dispatch(message: pg.Notification): void {
    if (message.channel !== RUN_EVENTS_CHANNEL) return;

    const notification = parseNotification(message.payload);
    if (notification === null) {
      this.invalidPayloads++;
      // Counted, and logged once per power of two, so that a misbehaving sender cannot flood the log.
      if ((this.invalidPayloads & (this.invalidPayloads - 1)) === 0) {
        this.logger.warn(
          { channel: RUN_EVENTS_CHANNEL, payload: message.payload?.slice(0, 200), invalidPayloads: this.invalidPayloads },
          "ignored a run notification whose payload does not match the run notification schema",
        );
      }
      return;
    }

    const forRun = this.subscribers.get(notification.runId);
    if (!forRun) return;
    for (const subscriber of [...forRun]) subscriber.onNotification(notification);
  }

  private handleDisconnect(client: pg.Client, error: Error | null): void {
    if (client !== this.client) return;
    this.client = null;
    client.removeAllListeners("notification");
    client.end().catch(() => undefined);
    if (this.closed) return;

    this.logger.warn({ err: error ?? undefined }, "run event connection lost; reconnecting");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const attempt = this.failedAttempts + 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect(attempt);
    }, this.reconnectDelayMs(attempt));
    this.reconnectTimer.unref();
  }

  private async reconnect(attempt: number): Promise<void> {
    try {
      await this.ensureListening();
    } catch (error) {
      this.failedAttempts = attempt;
      this.logger.error({ err: error, attempt }, "run event reconnect failed; retrying");
      this.scheduleReconnect();
      return;
    }
    if (this.closed) return;

    this.failedAttempts = 0;
    this.logger.info({ attempt }, "run event connection re-established");
    for (const forRun of this.subscribers.values()) {
      for (const subscriber of [...forRun]) subscriber.onResync();
    }
  }
}

function parseNotification(payload: string | undefined): RunNotification | null {
  if (payload === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  const result = runNotificationSchema.safeParse(value);
  return result.success ? result.data : null;
}

/** Listeners shared by getRunEventListener, on globalThis so that module reloads in `next dev` reuse them. */
const sharedListeners: Map<string, RunEventListener> = ((globalThis as { __hswarmRunEventListeners?: Map<string, RunEventListener> })
  .__hswarmRunEventListeners ??= new Map());

/** Returns the process's shared listener for a database URL, which connects on the first subscription. */
export function getRunEventListener(url: string): RunEventListener {
  let listener = sharedListeners.get(url);
  if (!listener) {
    listener = new RunEventListener(url);
    sharedListeners.set(url, listener);
  }
  return listener;
}
