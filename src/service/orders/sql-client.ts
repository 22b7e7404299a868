import pg from 'pg';
import { guardHook, toError } from 'pokegate';
import { createPostgresListener, type NotificationListener } from 'pokegate/postgres';
import type { Logger } from 'pokegate';

/** Runs one statement and returns its rows. */
export type SqlQuery = <R extends object>(text: string, params?: readonly unknown[]) => Promise<R[]>;

/**
 * The little SQL surface the read view needs, so that its statements are
 * written once for PostgreSQL and for PGlite.
 */
export interface SqlClient {
  readonly backend: 'postgres' | 'pglite';
  readonly query: SqlQuery;
  /**
   * Runs `work` in one transaction on one connection: commits when it
   * resolves, rolls back when it throws.
   */
  transaction<T>(work: (query: SqlQuery) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotification` with the payload of each notification on
   * `channel`: PostgreSQL on a dedicated connection that reconnects by
   * itself, PGlite in process. Close the listener before the client.
   */
  listen(channel: string, onNotification: (payload: string) => void): Promise<NotificationListener>;
  close(): Promise<void>;
}

export interface PostgresClientOptions {
  readonly connectionString: string;
  readonly maxConnections: number;
  readonly connectionTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly applicationName: string;
  readonly logger: Logger;
  /**
   * Statements run as named prepared statements: parsed and planned once per
   * connection instead of on every call (the read view's hot path, where a
   * small batch's planning would cost more than its work).
   * @default []
   */
  readonly prepare?: readonly string[];
}

export function createPostgresClient(options: PostgresClientOptions): SqlClient {
  const {
    connectionString,
    maxConnections,
    connectionTimeoutMs,
    statementTimeoutMs,
    applicationName,
    logger,
    prepare = [],
  } = options;
  const names = new Map(prepare.map((text, i) => [text, `pokegate_${i}`]));
  /** pg's query config: named (prepared) when `text` is one of `prepare`. */
  const config = (text: string, params: readonly unknown[]): pg.QueryConfig => {
    const name = names.get(text);
    return name === undefined ? { text, values: [...params] } : { name, text, values: [...params] };
  };
  const pool = new pg.Pool({
    connectionString,
    max: maxConnections,
    connectionTimeoutMillis: connectionTimeoutMs,
    // A statement outliving its caller (an aborted read) holds a connection
    // only this long.
    statement_timeout: statementTimeoutMs,
    application_name: applicationName,
  });
  // Without a listener, an idle connection that the server drops would crash
  // the process; the pool replaces it on the next checkout.
  pool.on('error', (error) => {
    logger.error({ err: error }, 'an idle PostgreSQL connection of the read view failed');
  });
  return {
    backend: 'postgres',
    async query<R extends object>(text: string, params: readonly unknown[] = []) {
      const result = await pool.query<R & pg.QueryResultRow>(config(text, params));
      return result.rows;
    },
    async transaction(work) {
      const client = await pool.connect();
      // A connection whose ROLLBACK failed is in an unknown state: the pool
      // must destroy it rather than hand it out again.
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work(async <R extends object>(text: string, params: readonly unknown[] = []) => {
          const rows = await client.query<R & pg.QueryResultRow>(config(text, params));
          return rows.rows;
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = toError(rollbackError);
        }
        throw error;
      } finally {
        client.release(broken);
      }
    },
    listen: (channel, onNotification) =>
      Promise.resolve(
        createPostgresListener({
          connectionString,
          channel,
          onNotification,
          applicationName: `${applicationName} listener`,
          logger,
        }),
      ),
    close: () => pool.end(),
  };
}

export interface PgliteClientOptions {
  /** Where PGlite keeps its files; `undefined` keeps them in memory. */
  readonly dataDir: string | undefined;
}

export async function createPgliteClient(options: PgliteClientOptions): Promise<SqlClient> {
  // Imported on demand: a service on a real PostgreSQL never loads the WASM build.
  const { PGlite } = await import('@electric-sql/pglite');
  const db = options.dataDir === undefined ? await PGlite.create() : await PGlite.create(options.dataDir);
  return {
    backend: 'pglite',
    async query<R extends object>(text: string, params: readonly unknown[] = []) {
      const result = await db.query<R>(text, [...params]);
      return result.rows;
    },
    // PGlite is one connection: its transaction holds a mutex that every other
    // query waits for, so transactions here are serialised, never interleaved.
    transaction: (work) =>
      db.transaction((tx) =>
        work(async <R extends object>(text: string, params: readonly unknown[] = []) => {
          const result = await tx.query<R>(text, [...params]);
          return result.rows;
        }),
      ),
    async listen(channel, onNotification) {
      // Quoted: PGlite lowercases an unquoted channel name, as PostgreSQL does.
      // The callback's failure must not reach PGlite's notification loop.
      const unlisten = await db.listen(`"${channel}"`, guardHook({ onNotification }, 'onNotification'));
      // In process, nothing can drop the listen: it is live until closed.
      let closed: Promise<void> | undefined;
      const close = (): Promise<void> => (closed ??= unlisten());
      const listener: NotificationListener = {
        channel,
        get live() {
          return closed === undefined;
        },
        close,
        [Symbol.asyncDispose]: close,
      };
      return listener;
    },
    close: () => db.close(),
  };
}
