import pg from 'pg';
import { createBackoff, type BackoffOptions } from '../common/backoff.js';
import { defaultReconnectBackoff } from '../common/reconnect-backoff.js';
import { systemClock } from '../common/clock.js';
import { reasonOf, toError } from '../common/errors.js';
import { expectFunction, expectInteger, expectString } from '../common/validate.js';
import { silentLogger, type Logger } from '../common/logger.js';

/** One channel's notifications, delivered to a callback while `live`. */
export interface NotificationListener {
  readonly channel: string;
  /**
   * Whether the listen is in effect now: every notification committed from
   * now on reaches the callback. False while (re)connecting and once closed;
   * notifications sent meanwhile are lost.
   */
  readonly live: boolean;
  /** Stops listening and ends the connection; cancels a pending reconnect. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface PostgresListenerOptions {
  /** The PostgreSQL to listen on, as a `postgres://` URL. */
  readonly connectionString: string;
  /** The channel, case-sensitive (it is quoted in `LISTEN`). */
  readonly channel: string;
  /**
   * Called with each notification's payload, synchronously, in commit
   * order. A throw is logged and ignored: the listener keeps listening.
   */
  readonly onNotification: (payload: string) => void;
  /**
   * Shown in `pg_stat_activity`, to tell this connection from the pool's.
   * @default 'pokegate listener'
   */
  readonly applicationName?: string;
  /**
   * How long one connection attempt may take before it fails and is retried.
   * Minimum: 1.
   * @default 5000
   */
  readonly connectionTimeoutMs?: number;
  /**
   * The waits between reconnection attempts (the gate's backoff shape).
   * @default { minDelayMs: 100, maxDelayMs: 5000, factor: 2, jitter: 0.2 }
   */
  readonly retry?: BackoffOptions;
  /** One line per connect, loss, reconnect and close. @default a silent logger */
  readonly logger?: Logger;
}

/**
 * Listens on one channel over a dedicated connection (LISTEN holds its
 * session, so it cannot share a pool's). When the connection drops, the
 * listener reconnects by itself with backoff and listens again; it is not
 * `live` in between. It starts connecting at once.
 */
export function createPostgresListener(options: PostgresListenerOptions): NotificationListener {
  return new PostgresListener(options);
}

class PostgresListener implements NotificationListener {
  readonly channel: string;
  readonly #options: PostgresListenerOptions;
  readonly #logger: Logger;
  readonly #backoff: (attempt: number) => number;
  readonly #connectionTimeoutMs: number;
  /** Aborts the reconnect wait and ends the loop. */
  readonly #closing = new AbortController();
  /** The connection in use; set only while it is connected. */
  #client: pg.Client | undefined;
  #live = false;
  readonly #loop: Promise<void>;
  #closed: Promise<void> | undefined;

  constructor(options: PostgresListenerOptions) {
    const { channel, connectionTimeoutMs = 5_000, retry = {}, logger = silentLogger } = options;
    expectString('channel', channel);
    expectFunction('onNotification', options.onNotification);
    this.#connectionTimeoutMs = expectInteger('connectionTimeoutMs', connectionTimeoutMs, 1);
    this.channel = channel;
    this.#options = options;
    this.#logger = logger.child({ channel });
    this.#backoff = createBackoff(retry, Math.random, defaultReconnectBackoff);
    this.#loop = this.#run();
  }

  get live(): boolean {
    return this.#live;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort('closed');
      await this.#client?.end().catch(() => undefined);
      await this.#loop;
      this.#logger.info('notification listener closed');
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Connects, listens until the connection ends, waits, and again, until closed. */
  async #run(): Promise<void> {
    const { signal } = this.#closing;
    for (let attempt = 1; !this.#isClosing(); attempt++) {
      const lost = await this.#listenOnce();
      if (lost) attempt = 1;
      if (this.#isClosing()) break;
      const delayMs = this.#backoff(attempt);
      this.#logger.info({ delayMs, attempt }, 'notification listener reconnecting');
      await systemClock.sleep(delayMs, signal);
    }
  }

  /**
   * One connection's life: resolves once it has ended, with whether it was
   * live (then the next attempt starts the backoff over).
   */
  async #listenOnce(): Promise<boolean> {
    const client = new pg.Client({
      connectionString: this.#options.connectionString,
      application_name: this.#options.applicationName ?? 'pokegate listener',
      connectionTimeoutMillis: this.#connectionTimeoutMs,
      keepAlive: true,
    });
    const ended = new Promise<void>((resolve) => client.once('end', resolve));
    // Without a listener, a connection the server drops would crash the process.
    client.on('error', (error) => {
      if (this.#live) this.#logger.warn({ err: error }, 'notification listener connection failed');
    });
    client.on('notification', ({ channel, payload }) => {
      if (channel === this.channel && payload !== undefined) this.#deliver(payload);
    });
    try {
      await client.connect();
      this.#client = client;
      // Closed while connecting: `close` found no client to end.
      if (this.#isClosing()) throw new Error('closed');
      await client.query(`LISTEN ${client.escapeIdentifier(this.channel)}`);
    } catch (error) {
      this.#client = undefined;
      if (!this.#isClosing()) {
        this.#logger.warn({ reason: reasonOf(error) }, 'notification listener could not connect');
      }
      await client.end().catch(() => undefined);
      return false;
    }
    this.#live = true;
    this.#logger.info('notification listener live');
    await ended;
    this.#live = false;
    this.#client = undefined;
    if (!this.#isClosing()) this.#logger.warn('notification listener lost its connection');
    return true;
  }

  #isClosing(): boolean {
    return this.#closing.signal.aborted;
  }

  #deliver(payload: string): void {
    try {
      this.#options.onNotification(payload);
    } catch (error) {
      this.#logger.error({ err: toError(error) }, 'notification callback failed');
    }
  }
}
