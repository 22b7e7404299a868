import { toError } from '../core/errors.js';
import { WILDCARD } from '../core/registry.js';
import { expectInteger } from '../core/validate.js';
import { abortable, abortReason } from '../transport/abort.js';
import { silentLogger, type Logger } from '../transport/logger.js';
import type { OrderEvent } from '../transport/order-events.js';
import type { ProjectionOutcome } from '../transport/projector.js';
import type { NotificationListener } from '../postgres/notification-listener.js';
import { commitChannel, decodeCommitNotice, encodeCommitNotices, type OrderCommit } from './commit-notice.js';
import { InvalidOrderEventError, ReadViewClosedError, ReadViewStartError } from './errors.js';
import {
  createSchema,
  expectIdentifier,
  orderStatements,
  toOrder,
  type OrderRow,
  type OrderStatements,
} from './order-sql.js';
import { createPgliteClient, createPostgresClient, type SqlClient } from './sql-client.js';
import type { Order } from './types.js';

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
   * PostgreSQL only: connections in the pool. Keep the gate's `concurrency`
   * plus the projector's `prefetch` at or under it. Minimum: 1.
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

/** What the visibility check needs: the newest version applied, and whether it removed the order. */
export interface OrderState {
  readonly version: number;
  readonly removed: boolean;
}

/**
 * What `apply` did, inside its transaction:
 * - `applied` — the event was the next version; it is committed;
 * - `duplicate` — that version (or a later one) was already there; nothing written;
 * - `early` — its predecessor is not there yet; nothing written; apply it again later.
 */
export type ApplyOutcome = ProjectionOutcome;

/** The reference service's read view of orders: what queries read and the gate waits for. */
export interface ReadView {
  readonly backend: 'postgres' | 'pglite';
  /**
   * Applies one orders event in one transaction, only when its version is the
   * order's next one (version 1 places the order). The order's row is locked
   * while it is compared and written, so replicas applying the same event at
   * once apply it exactly once. Throws `InvalidOrderEventError` for an event
   * that contradicts the order's history, with nothing written. When `signal`
   * aborts before the write, the transaction rolls back; after it, the
   * transaction commits and a retry finds a `duplicate`.
   */
  apply(event: OrderEvent, options?: ReadOptions): Promise<ApplyOutcome>;
  /**
   * Calls `onCommit` for each order version an `apply` commits from now on,
   * on this replica or any other using the same database (a notice sent in
   * the applying transaction), while the returned listener is `live`. A
   * notice it cannot decode is logged and ignored. Close the listener before
   * the read view.
   */
  listenCommits(onCommit: (commit: OrderCommit) => void): Promise<NotificationListener>;
  /** The order, or null when it is unknown or removed. */
  order(id: string, options?: ReadOptions): Promise<Order | null>;
  /** The company's orders that are not removed, in the order they were placed; `"*"`: every company's. */
  orders(companyId: string, options?: ReadOptions): Promise<Order[]>;
  /** The order's newest version, removed or not; null when no version of it is applied. */
  orderState(id: string, options?: ReadOptions): Promise<OrderState | null>;
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

/**
 * The event-level rules that need no row: version 1 is the placement and
 * nothing else is. The zod schema at the edge cannot say this.
 */
function expectPlacementRule(event: OrderEvent): void {
  if (event.type === 'OrderPlaced' && event.version !== 1) {
    throw new InvalidOrderEventError(event, 'an order is placed at version 1');
  }
  if (event.type !== 'OrderPlaced' && event.version === 1) {
    throw new InvalidOrderEventError(event, 'version 1 must be the OrderPlaced event');
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortReason(signal);
}

class ReadViewImpl implements ReadView {
  readonly backend: 'postgres' | 'pglite';
  readonly #client: SqlClient;
  readonly #sql: OrderStatements;
  readonly #channel: string;
  readonly #logger: Logger;
  /** Calls started and not settled; `close` waits for them before it ends the client. */
  #inflight = 0;
  #drained: (() => void) | undefined;
  /** Set by the first `close()`; from then on every call is refused. */
  #closed: Promise<void> | undefined;

  constructor(client: SqlClient, schema: string, logger: Logger) {
    this.backend = client.backend;
    this.#client = client;
    this.#sql = orderStatements(schema);
    this.#channel = commitChannel(schema);
    this.#logger = logger;
  }

  apply(event: OrderEvent, options: ReadOptions = {}): Promise<ApplyOutcome> {
    const { signal } = options;
    return this.#run(signal, () => {
      expectPlacementRule(event);
      return this.#client.transaction(async (query) => {
        const outcome = await this.#applyIn(query, event, signal);
        if (outcome === 'applied') await this.#announce(query, event);
        return outcome;
      });
    });
  }

  /** Tells every replica's listener, once this transaction commits, that `event`'s version is visible. */
  async #announce(query: SqlClient['query'], { companyId, orderId, version }: OrderEvent): Promise<void> {
    for (const payload of encodeCommitNotices([{ companyId, orderId, version }])) {
      await query(this.#sql.notify, [this.#channel, payload]);
    }
  }

  listenCommits(onCommit: (commit: OrderCommit) => void): Promise<NotificationListener> {
    return this.#client.listen(this.#channel, (payload) => {
      const commits = decodeCommitNotice(payload);
      if (commits === undefined) {
        this.#logger.warn(
          { channel: this.#channel, payload: payload.slice(0, 200) },
          'ignored a commit notice in an unknown format',
        );
        return;
      }
      for (const commit of commits) onCommit(commit);
    });
  }

  async #applyIn(
    query: SqlClient['query'],
    event: OrderEvent,
    signal: AbortSignal | undefined,
  ): Promise<ApplyOutcome> {
    const [current] = await query<{ company_id: string; version: number }>(this.#sql.lock, [event.orderId]);
    if (current === undefined) {
      // By the placement rule, anything but OrderPlaced here is a later version.
      if (event.type !== 'OrderPlaced') return 'early';
      // Aborted (the projector gave up on this try): roll back rather than
      // write after the caller has moved on.
      throwIfAborted(signal);
      // No row to lock: ON CONFLICT makes a concurrent placement wait for the
      // other one's commit and then insert nothing, i.e. a duplicate.
      const inserted = await query(this.#sql.insert, [
        event.orderId,
        event.companyId,
        event.data.status,
        event.data.total,
        event.occurredAt,
      ]);
      return inserted.length === 1 ? 'applied' : 'duplicate';
    }
    if (event.version <= current.version) return 'duplicate';
    if (event.version > current.version + 1) return 'early';
    if (current.company_id !== event.companyId) {
      throw new InvalidOrderEventError(event, `the order belongs to company "${current.company_id}"`);
    }
    throwIfAborted(signal);
    const changed = event.type === 'OrderStatusChanged' ? event.data : undefined;
    // A removal is final: a later version still advances the version (so the
    // events after it are not stuck as early) but never brings the order back.
    const updated = await query(this.#sql.update, [
      event.orderId,
      changed?.status ?? null,
      changed?.total ?? null,
      event.type === 'OrderRemoved',
      event.version,
      event.occurredAt,
    ]);
    if (updated.length !== 1) {
      throw new Error(`Order "${event.orderId}" changed under its row lock (version ${event.version})`);
    }
    return 'applied';
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

  orderState(id: string, options: ReadOptions = {}): Promise<OrderState | null> {
    return this.#run(options.signal, async () => {
      const [row] = await this.#client.query<OrderState>(this.#sql.state, [id]);
      return row === undefined ? null : { version: row.version, removed: row.removed };
    });
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
