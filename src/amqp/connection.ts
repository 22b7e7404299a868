import { connect, type Channel, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import { expectCount, expectInteger, expectNumber, expectString, expectUrl } from '../common/validate.js';
import { backoffSettings, type BackoffOptions } from '../common/backoff.js';
import { abortable } from '../common/abort.js';
import { defaultReconnectBackoff } from '../common/reconnect-backoff.js';
import { BrokerUnreachableError, TransportClosedError } from '../transport/errors.js';
import { reasonOf } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';

/**
 * How amqplib's connection recovery waits between two attempts: the library's
 * one backoff shape, and how long to keep trying before the first connection.
 */
export interface ReconnectOptions extends BackoffOptions {
  /**
   * The wait after the first failed attempt. Minimum: 0.
   * @default 100
   */
  readonly minDelayMs?: number;
  /**
   * The longest wait between two attempts. Minimum: `minDelayMs`.
   * @default 5000
   */
  readonly maxDelayMs?: number;
  /**
   * Each wait is the previous one times this. Minimum: 1.
   * @default 2
   */
  readonly factor?: number;
  /**
   * The share of each wait that is randomised away, from 0 to 1.
   * @default 0.2
   */
  readonly jitter?: number;
  /** @deprecated The former name of `minDelayMs`, still accepted. */
  readonly initialDelayMs?: number;
  /**
   * Failed attempts retried before the first connection, after which `start`
   * rejects with `BrokerUnreachableError` (an unreachable broker fails the
   * deployment). Once connected, recovery never gives up. Minimum: 0;
   * `Infinity` waits for ever.
   * @default 10
   */
  readonly startupRetries?: number;
}

/** The broker side of every AMQP component; each holds its own connection. */
export interface AmqpConnectionOptions {
  /** `amqp://user:password@host:port/vhost` (or `amqps://`). */
  readonly url: string;
  /**
   * The AMQP heartbeat: a dead peer is noticed after about twice this.
   * Minimum: 5, maximum: 20 (replaces a `heartbeat` in `url`).
   * @default 10
   */
  readonly heartbeatSeconds?: number;
  /**
   * The TCP connect timeout of one attempt. Minimum: 1.
   * @default 10000
   */
  readonly connectTimeoutMs?: number;
  /**
   * The waits between reconnection attempts.
   * @default { minDelayMs: 100, maxDelayMs: 5000, factor: 2, jitter: 0.2, startupRetries: 10 }
   */
  readonly reconnect?: ReconnectOptions;
  /**
   * The name the broker shows for the connection (`rabbitmqctl list_connections client_properties`).
   * @default `pokegate <component>`
   */
  readonly connectionName?: string;
  /** @default a silent logger */
  readonly logger?: Logger;
}

/** What a component does on each (re)connect and disconnect. */
export interface ConnectionHooks {
  /** Names the component in logs and in the connection name. */
  readonly component: string;
  /**
   * Declares the topology and opens the channels and consumers, on every
   * (re)connect, before the connection counts as connected. A throw closes
   * the attempt and recovery tries again after its backoff.
   */
  setup(model: ChannelModel): Promise<void>;
  /** The setup succeeded; `first` is true on the first connection only. */
  connected(first: boolean): void;
  /** The connection was lost; recovery reconnects after its backoff. */
  disconnected(): void;
}

/**
 * A connection kept up by amqplib's own recovery (`recovery` option): every
 * reconnect re-runs the component's setup. A lost channel or a cancelled
 * consumer is healed the same way, by ending the connection (`recycle`), so
 * there is one recovery path, with one backoff.
 */
export class ManagedConnection {
  readonly logger: Logger;
  readonly #url: string;
  readonly #safeUrl: string;
  readonly #socketOptions: { timeout: number; clientProperties: Record<string, unknown> };
  readonly #reconnect: Required<BackoffOptions> & { readonly startupRetries: number };
  readonly #hooks: ConnectionHooks;
  #recovering: RecoveringChannelModel | undefined;
  /** The connection whose setup succeeded and which has not closed yet. */
  #live: ChannelModel | undefined;
  #connects = 0;
  #opening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: AmqpConnectionOptions, hooks: ConnectionHooks) {
    const {
      url,
      heartbeatSeconds = 10,
      connectTimeoutMs = 10_000,
      reconnect = {},
      connectionName = `pokegate ${hooks.component}`,
      logger = silentLogger,
    } = options;
    const parsed = parseUrl(url);
    expectInteger('heartbeatSeconds', heartbeatSeconds, 5, 20);
    parsed.searchParams.set('heartbeat', String(heartbeatSeconds));
    this.#url = parsed.toString();
    if (parsed.password !== '') parsed.password = '***';
    this.#safeUrl = parsed.toString();
    this.#socketOptions = {
      timeout: expectNumber('connectTimeoutMs', connectTimeoutMs, 1),
      clientProperties: { connection_name: expectString('connectionName', connectionName) },
    };
    // The old name keeps working: it is read here once, and only here.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    const { initialDelayMs, startupRetries = 10, ...backoff } = reconnect;
    const renamed = initialDelayMs === undefined ? {} : { minDelayMs: initialDelayMs };
    this.#reconnect = {
      ...backoffSettings({ ...renamed, ...backoff }, defaultReconnectBackoff, 'reconnect'),
      startupRetries: expectCount('reconnect.startupRetries', startupRetries, 0),
    };
    this.#hooks = hooks;
    this.logger = logger.child({ component: hooks.component });
  }

  /** Whether the last setup succeeded and the connection has not been lost since. */
  get connected(): boolean {
    return this.#live !== undefined;
  }

  /** Connects and waits for the first setup. Idempotent: later calls share the first one's promise. */
  open(signal?: AbortSignal): Promise<void> {
    if (this.#closed()) return Promise.reject(new TransportClosedError(`The ${this.#hooks.component}`));
    this.#opening ??= this.#open(signal);
    return this.#opening;
  }

  /**
   * Ends `model` if it is still the live connection, so recovery reconnects
   * and re-runs the setup. For a channel closed under a live connection, or a
   * consumer the broker cancelled.
   */
  recycle(model: ChannelModel, reason: string): void {
    if (model !== this.#live || this.#closing !== undefined) return;
    this.#live = undefined;
    this.logger.warn({ reason }, 'recycling the connection');
    model.close().catch(() => undefined);
  }

  /** Closes the connection and stops recovery. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /**
   * Watches a channel opened in the setup: it must never throw an `error` at
   * amqplib, and its loss under a live connection recycles the connection.
   */
  watch(model: ChannelModel, channel: Channel, onClose: () => void): void {
    channel.on('error', (error: Error) => {
      this.logger.warn({ reason: error.message }, 'channel error');
    });
    channel.on('handler-error', (error: Error, event: string) => {
      this.logger.error({ reason: error.message, event }, 'a channel listener threw');
    });
    channel.once('close', () => {
      onClose();
      // The connection's own close closes its channels first: let it finish, so
      // only a channel lost under a live connection recycles it.
      queueMicrotask(() => {
        this.recycle(model, 'channel closed');
      });
    });
  }

  async #open(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const { minDelayMs, maxDelayMs, factor, jitter, startupRetries } = this.#reconnect;
    this.logger.info({ url: this.#safeUrl }, 'connecting');
    const recovering = await connect(this.#url, {
      ...this.#socketOptions,
      recovery: {
        initialDelay: minDelayMs,
        maxDelay: maxDelayMs,
        factor,
        jitter,
        maxRetries: Infinity,
        initialMaxRetries: startupRetries,
        waitForConnect: false,
        setup: (model: ChannelModel) => this.#hooks.setup(model),
      },
    });
    this.#recovering = recovering;
    this.#listen(recovering);
    if (this.#closed()) {
      await recovering.close();
      throw new TransportClosedError(`The ${this.#hooks.component}`);
    }
    try {
      await abortable(recovering.waitForConnect(), signal);
    } catch (error) {
      const closedMeanwhile = this.#closed();
      await this.close();
      if (signal?.aborted === true) throw error;
      if (closedMeanwhile) throw new TransportClosedError(`The ${this.#hooks.component}`);
      throw new BrokerUnreachableError(this.#safeUrl, startupRetries, error as Error);
    }
  }

  #listen(recovering: RecoveringChannelModel): void {
    const logger = this.logger;
    // The first attempt is deferred by amqplib, so these are in place before it.
    recovering.on('connect', (model: ChannelModel) => {
      this.#live = model;
      const first = ++this.#connects === 1;
      logger.info({ url: this.#safeUrl }, first ? 'connected' : 'reconnected');
      this.#call('connected', () => {
        this.#hooks.connected(first);
      });
    });
    recovering.on('disconnect', (error: Error) => {
      this.#live = undefined;
      logger.warn({ reason: error.message }, 'disconnected');
      this.#call('disconnected', () => {
        this.#hooks.disconnected();
      });
    });
    recovering.on('connect-failed', (error: Error) => {
      logger.warn({ reason: error.message }, 'connection attempt failed');
    });
    recovering.on('reconnect-scheduled', (info: { attempt: number; delay: number }) => {
      logger.info({ attempt: info.attempt, delayMs: info.delay }, 'reconnect scheduled');
    });
    recovering.on('reconnect-failed', (error: Error) => {
      logger.error({ reason: error.message }, 'gave up connecting');
    });
    // A connection error is followed by its close, logged as `disconnected`.
    recovering.on('error', (error: Error) => {
      logger.debug({ reason: error.message }, 'connection error');
    });
    recovering.on('blocked', (reason: string) => {
      logger.warn({ reason }, 'the broker blocked the connection');
    });
    recovering.on('unblocked', () => {
      logger.info('the broker unblocked the connection');
    });
    recovering.on('handler-error', (error: unknown, event: string) => {
      logger.error({ reason: reasonOf(error), event }, 'a connection listener threw');
    });
  }

  /**
   * Runs a hook inside amqplib's own event: a throw there would count as a
   * failed connection and close it, so it is logged instead.
   */
  #call(hook: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.logger.error({ hook, reason: reasonOf(error) }, 'a connection hook threw');
    }
  }

  /** A method, so that checks after an `await` are not narrowed away. */
  #closed(): boolean {
    return this.#closing !== undefined;
  }

  async #close(): Promise<void> {
    this.#live = undefined;
    // An open still waiting for amqplib's connect closes what it gets.
    const recovering = this.#recovering;
    if (recovering === undefined) return;
    await recovering.close();
    this.logger.info('closed');
  }
}

function parseUrl(url: string): URL {
  return expectUrl('url', url, ['amqp:', 'amqps:']);
}
