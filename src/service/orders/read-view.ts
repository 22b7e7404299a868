import { toError } from 'pokegate';
import { WILDCARD } from 'pokegate';
import { expectInteger } from 'pokegate';
import { abortable, abortReason } from 'pokegate';
import { silentLogger, type Logger } from 'pokegate';
import type { OrderEvent } from './events.js';
import type { ProjectionOutcome } from 'pokegate';
import type { NotificationListener } from 'pokegate/postgres';
import type { ApplyResult } from './batch-plan.js';
import { BatchWriter } from './batch-writer.js';
import { decodeCommitNotice, type OrderCommit } from './commit-notice.js';
import { ReadViewClosedError, ReadViewStartError } from './errors.js';
import { KnownStates } from './known-states.js';
import { createStateLoader } from './state-loader.js';
import {
  createSchema,
  expectIdentifier,
  orderStatements,
  toOrder,
  type OrderRow,
  type OrderStatements,
} from './order-sql.js';
import { createPgliteClient, createPostgresClient, type SqlClient } from './sql-client.js';
import type { Order, OrderState } from './types.js';

export interface ReadViewOptions {
  /**
   * A `postgres:` or `postgresql:` URL: the read view is that PostgreSQL,
   * through a connection pool. Unset: an embedded PGlite, with a warning.
   * @default undefined
   */
  readonly databaseUrl?: string | undefined;
  /**
   * PGlite only: the directory it keeps its files in, so the view survives
   * a restart. Unset: in memory, lost on exit.
   * @default undefined
   */
  readonly dataDir?: string | undefined;
  /**
   * The schema that holds the `orders` table; created at start if missing.
   * Letters, digits and `_`, at most 63 characters.
   * @default 'public'
   */
  readonly schema?: string;
  /**
   * PostgreSQL only: connections in the pool. Keep it above the gate's
   * `concurrency`: the projector applies one batch at a time, on one
   * connection (two when a batch meets another replica's writes). Minimum: 1.
   * @default 10
   */
  readonly maxConnections?: number;
  /**
   * PostgreSQL only: how long a call waits for a connection (to open one, or
   * for a busy pool to free one) before it fails. 0 waits forever. Minimum: 0.
   * @default 5000
   */
  readonly connectionTimeoutMs?: number;
  /**
   * PostgreSQL only: the server cancels a statement running longer than
   * this. It also bounds how long an aborted read keeps its connection busy.
   * 0 disables it. Minimum: 0.
   * @default 10000
   */
  readonly statementTimeoutMs?: number;
  /**
   * PostgreSQL only: shown in `pg_stat_activity`.
   * @default 'pokegate'
   */
  readonly applicationName?: string;
  /** One line at start and at close, and for a failed idle connection. @default a silent logger */
  readonly logger?: Logger;
}

export interface ReadOptions {
  /**
   * Rejects the call with the signal's reason as soon as it aborts; an
   * aborted signal keeps the call from starting. A statement already sent
   * runs on, and its result is dropped.
   */
  readonly signal?: AbortSignal | undefined;
}

export interface StateOptions extends ReadOptions {
  /**
   * The version the caller waits for: a state known to be at it or later —
   * from this view's own writes or a commit notice it heard, both sent only
   * after the commit — is answered without a query. It may then be older
   * than the newest; it is never older than `atLeast`.
   */
  readonly atLeast?: number | undefined;
}

/**
 * What `apply` did, inside its transaction:
 * - `applied` — the event was the next version; it is committed;
 * - `duplicate` — that version (or a later one) was already there; nothing written;
 * - `early` — its predecessor is not there yet; nothing written; apply it again later.
 */
export type ApplyOutcome = ProjectionOutcome;

export interface ListenCommitsOptions {
  /**
   * Whether this replica needs the commit: one with a local subscriber of the
   * company, or a read waiting for it. Called once per commit; keep it to a
   * map lookup.
   * @default every commit
   */
  readonly interested?: (companyId: string) => boolean;
}

/** The reference service's read view of orders: what queries read and the gate waits for. */
export interface ReadView {
  readonly backend: 'postgres' | 'pglite';
  /**
   * Applies a batch of orders events: each event only when its version is
   * its order's next one (version 1 places the order), the versions of one
   * order in order whatever order they come in, each exactly once even with
   * replicas applying the same events at once. Resolves with one result per
   * event, in order: an `InvalidOrderEventError` for an event that
   * contradicts its order's history (nothing written for it).
   *
   * The batch is planned on the rows as read (placements of unseen orders on
   * no read at all) and written in one statement that only writes rows still
   * as planned: one or two round trips, no transaction of its own. The
   * orders another replica changed meanwhile are then applied again in a
   * transaction that locks their rows. Each write notifies
   * `commitChannel(schema)` of each order's newest version; the server
   * delivers that only after the commit. When `signal` aborts before a
   * write, that write is not made; after it, the write stands and a retry
   * finds `duplicate`s. A database error rejects the batch: what committed
   * before it stays, and a retry finds it `duplicate`.
   */
  applyBatch(events: readonly OrderEvent[], options?: ReadOptions): Promise<ApplyResult[]>;
  /** `applyBatch` of one event; its `InvalidOrderEventError` is thrown. */
  apply(event: OrderEvent, options?: ReadOptions): Promise<ApplyOutcome>;
  /**
   * Calls `onCommit` for each order version an `apply` commits from now on
   * (and remembers it for `orderState` with `atLeast`),
   * on this replica or any other using the same database (a notice sent in
   * the applying transaction), while the returned listener is `live`. A
   * notice it cannot decode is logged and ignored. Close the listener before
   * the read view.
   *
   * With `interested`, a commit it refuses is dropped right after the decode,
   * before any other work: a replica then pays for the companies it serves
   * only (every replica hears every commit; see docs/interest-routing.md).
   */
  listenCommits(
    onCommit: (commit: OrderCommit) => void,
    options?: ListenCommitsOptions,
  ): Promise<NotificationListener>;
  /** The order, or null when it is unknown or removed. */
  order(id: string, options?: ReadOptions): Promise<Order | null>;
  /** The company's orders that are not removed, in the order they were placed; `"*"`: every company's. */
  orders(companyId: string, options?: ReadOptions): Promise<Order[]>;
  /**
   * The order's newest version, removed or not; null when no version of it
   * is applied. With `atLeast`, possibly a known state at that version or later instead.
   */
  orderState(id: string, options?: StateOptions): Promise<OrderState | null>;
  /** Resolves when the database answers a trivial query: for `/readyz`. */
  ping(options?: ReadOptions): Promise<void>;
  /**
   * Refuses new calls, waits for those in flight, then ends the pool (or
   * closes PGlite). Idempotent: every call returns the same promise.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Whether a change at `version` is visible in a state read after it: from
 * then on `order(id)` returns version ≥ `version`, or null because the order
 * is removed. This is the gate's condition before it pokes.
 */
export function isVisible(state: OrderState | null, version: number): boolean {
  return state !== null && state.version >= version;
}

/** Starts the read view and creates its schema (idempotent, safe with replicas starting at once). */
export async function createReadView(options: ReadViewOptions = {}): Promise<ReadView> {
  const {
    databaseUrl,
    dataDir,
    schema = 'public',
    maxConnections = 10,
    connectionTimeoutMs = 5_000,
    statementTimeoutMs = 10_000,
    applicationName = 'pokegate',
    logger = silentLogger,
  } = options;
  const target = databaseUrl === undefined ? undefined : expectDatabaseUrl(databaseUrl);
  expectIdentifier('schema', schema);
  expectInteger('maxConnections', maxConnections, 1);
  expectInteger('connectionTimeoutMs', connectionTimeoutMs, 0);
  expectInteger('statementTimeoutMs', statementTimeoutMs, 0);
  if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir === '')) {
    throw new TypeError(`Expected \`dataDir\` to be a non-empty string, got ${JSON.stringify(dataDir)}`);
  }

  let client: SqlClient | undefined;
  try {
    client =
      databaseUrl === undefined
        ? await createPgliteClient({ dataDir })
        : createPostgresClient({
            connectionString: databaseUrl,
            maxConnections,
            connectionTimeoutMs,
            statementTimeoutMs,
            applicationName,
            logger,
            // Every statement but the channel's name, which is not one.
            prepare: Object.entries(orderStatements(schema)).flatMap(([name, text]) =>
              name === 'channel' ? [] : [text],
            ),
          });
    await createSchema(client, schema);
  } catch (error) {
    await client?.close().catch(() => undefined);
    throw new ReadViewStartError(target ?? 'embedded PGlite', toError(error));
  }

  if (target === undefined) {
    logger.warn(
      { backend: 'pglite', schema, dataDir: dataDir ?? 'memory' },
      dataDir === undefined
        ? 'no DATABASE_URL: the read view is an embedded PGlite in memory, lost on exit'
        : 'no DATABASE_URL: the read view is an embedded PGlite',
    );
  } else {
    logger.info({ backend: 'postgres', database: target, schema }, 'read view ready');
  }
  return new ReadViewImpl(client, schema, logger);
}

/** Validates the URL and returns it without credentials, for logs and errors. */
function expectDatabaseUrl(value: unknown): string {
  const parsed = typeof value === 'string' ? URL.parse(value) : null;
  if (parsed === null || (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')) {
    throw new TypeError(
      `Expected \`databaseUrl\` to be a postgres:// or postgresql:// URL, got ${typeof value === 'string' ? 'another string' : typeof value}`,
    );
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/** Orders whose newest known state `orderState` with `atLeast` answers from memory (about 100 bytes each). */
const knownStates = 10_000;

class ReadViewImpl implements ReadView {
  readonly backend: 'postgres' | 'pglite';
  readonly #client: SqlClient;
  readonly #sql: OrderStatements;
  /** `orderState`'s reads of one synchronous run, in one query. */
  readonly #loadState: (id: string) => Promise<OrderState | null>;
  readonly #logger: Logger;
  /** What `orderState` with `atLeast` answers without a query; the writer adds what it writes. */
  readonly #known = new KnownStates(knownStates);
  readonly #writer: BatchWriter;
  /** Calls started and not settled; `close` waits for them before it ends the client. */
  #inflight = 0;
  #drained: (() => void) | undefined;
  /** Set by the first `close()`; from then on every call is refused. */
  #closed: Promise<void> | undefined;

  constructor(client: SqlClient, schema: string, logger: Logger) {
    this.backend = client.backend;
    this.#client = client;
    this.#sql = orderStatements(schema);
    this.#loadState = createStateLoader(client, this.#sql.states);
    this.#writer = new BatchWriter(client, this.#sql, this.#known);
    this.#logger = logger;
  }

  async apply(event: OrderEvent, options: ReadOptions = {}): Promise<ApplyOutcome> {
    const [result] = await this.applyBatch([event], options);
    if (result instanceof Error) throw result;
    return result ?? 'early';
  }

  applyBatch(events: readonly OrderEvent[], options: ReadOptions = {}): Promise<ApplyResult[]> {
    const { signal } = options;
    return this.#run(signal, () => this.#writer.apply(events, signal));
  }

  listenCommits(
    onCommit: (commit: OrderCommit) => void,
    options: ListenCommitsOptions = {},
  ): Promise<NotificationListener> {
    const { interested } = options;
    return this.#client.listen(this.#sql.channel, (payload) => {
      const commits = decodeCommitNotice(payload);
      if (commits === undefined) {
        this.#logger.warn(
          { channel: this.#sql.channel, payload: payload.slice(0, 200) },
          'ignored a commit notice in an unknown format',
        );
        return;
      }
      for (const commit of commits) {
        if (interested !== undefined && !interested(commit.companyId)) continue;
        const { orderId, version, removed } = commit;
        if (removed !== undefined) this.#known.remember(orderId, { version, removed });
        onCommit(commit);
      }
    });
  }

  order(id: string, options: ReadOptions = {}): Promise<Order | null> {
    return this.#run(options.signal, async () => {
      const [row] = await this.#client.query<OrderRow>(this.#sql.order, [id]);
      return row === undefined ? null : toOrder(row);
    });
  }

  orders(companyId: string, options: ReadOptions = {}): Promise<Order[]> {
    return this.#run(options.signal, async () => {
      const rows =
        companyId === WILDCARD
          ? await this.#client.query<OrderRow>(this.#sql.allOrders)
          : await this.#client.query<OrderRow>(this.#sql.orders, [companyId]);
      return rows.map(toOrder);
    });
  }

  orderState(id: string, options: StateOptions = {}): Promise<OrderState | null> {
    const { signal, atLeast } = options;
    const known = atLeast === undefined ? undefined : this.#known.atLeast(id, atLeast);
    if (known !== undefined && this.#closed === undefined && signal?.aborted !== true) {
      return Promise.resolve(known);
    }
    return this.#run(signal, () => this.#loadState(id));
  }

  ping(options: ReadOptions = {}): Promise<void> {
    return this.#run(options.signal, async () => {
      await this.#client.query('SELECT 1');
    });
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    if (this.#inflight > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
    }
    await this.#client.close();
    this.#logger.info({ backend: this.backend }, 'read view closed');
  }

  /** Admission, the abort race and the in-flight count, around one call. */
  #run<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(new ReadViewClosedError(this.backend));
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    this.#inflight++;
    const settled = (async () => {
      try {
        return await work();
      } finally {
        if (--this.#inflight === 0) this.#drained?.();
      }
    })();
    return abortable(settled, signal);
  }
}
