import { commitChannel } from './commit-notice.js';
import type { SqlClient } from './sql-client.js';
import type { Order, OrderStatus } from './types.js';

// The read view's table and statements, written once for PostgreSQL and PGlite.

/** Letters, digits and `_`: safe to quote into SQL, as identifiers cannot be bound parameters. */
const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function expectIdentifier(name: string, value: unknown): void {
  if (typeof value !== 'string' || !identifier.test(value)) {
    throw new TypeError(
      `Expected \`${name}\` to be letters, digits and _ (at most 63, not starting with a digit), got ${JSON.stringify(value)}`,
    );
  }
}

export async function createSchema(client: SqlClient, schema: string): Promise<void> {
  const table = `"${schema}".orders`;
  await client.transaction(async (query) => {
    // Two replicas starting at once can both fail `CREATE … IF NOT EXISTS`
    // on the catalog's unique index; the lock lets one create, then the other see it.
    await query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pokegate.read_view:${schema}`]);
    // Checked first: CREATE SCHEMA needs the CREATE privilege even when the schema exists.
    const found = await query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (found.length === 0) await query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    // `removed` keeps a removed order's row, so its version stays known to the
    // gate while reads return null. `total` is a double: the event's number, unrounded.
    await query(`CREATE TABLE IF NOT EXISTS ${table} (
      id text PRIMARY KEY,
      company_id text NOT NULL,
      status text NOT NULL,
      total double precision NOT NULL,
      version integer NOT NULL CHECK (version >= 1),
      removed boolean NOT NULL DEFAULT false,
      placed_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await query(
      `CREATE INDEX IF NOT EXISTS orders_company_placed_idx ON ${table} (company_id, placed_at, id) WHERE NOT removed`,
    );
  });
}

export type OrderStatements = ReturnType<typeof orderStatements>;

export function orderStatements(schema: string) {
  const table = `"${schema}".orders`;
  const columns = 'id, company_id, status, total, version, updated_at';
  return {
    // Sorted ids and ORDER BY: replicas lock overlapping batches in one
    // order, so they wait for each other instead of deadlocking.
    lock: `SELECT id, company_id, status, total, version, removed FROM ${table}
      WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
    // The same rows unlocked: what an optimistic batch plans on.
    rows: `SELECT id, company_id, status, total, version, removed FROM ${table} WHERE id = ANY($1::text[])`,
    // One statement for a whole batch: updates of rows still at the version
    // the batch planned on, and placements of orders still absent. It is
    // right on its own, locked or not: a row another replica changed or
    // placed meanwhile is not written, and the ids it returns tell which
    // writes landed. The commit notices of those, in the same round trip:
    // delivered by the server only after the commit, never after a rollback.
    write: `WITH batch AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::double precision[], $5::integer[],
          $6::boolean[], $7::timestamptz[], $8::timestamptz[], $9::integer[], $11::text[], $12::integer[])
          AS b(id, company_id, status, total, version, removed, placed_at, updated_at, expected, notice, chunk)
      ), updated AS (
        UPDATE ${table} AS o SET status = b.status, total = b.total, version = b.version,
          removed = b.removed, updated_at = b.updated_at
        FROM batch b WHERE o.id = b.id AND b.expected > 0 AND o.version = b.expected
        RETURNING o.id
      ), inserted AS (
        INSERT INTO ${table} (id, company_id, status, total, version, removed, placed_at, updated_at)
        SELECT id, company_id, status, total, version, removed, placed_at, updated_at
        FROM batch WHERE expected = 0 ORDER BY id
        ON CONFLICT (id) DO NOTHING RETURNING id
      ), landed AS (
        SELECT id FROM updated UNION ALL SELECT id FROM inserted
      )
      SELECT ARRAY(SELECT id FROM landed) AS landed,
        (SELECT count(pg_notify($10, payload)) FROM (
          SELECT '[' || string_agg(b.notice, ',' ORDER BY b.id) || ']' AS payload
          FROM batch b JOIN landed l ON l.id = b.id GROUP BY b.chunk
        ) AS notices)::integer AS notified`,
    channel: commitChannel(schema),
    order: `SELECT ${columns} FROM ${table} WHERE id = $1 AND NOT removed`,
    orders: `SELECT ${columns} FROM ${table} WHERE company_id = $1 AND NOT removed ORDER BY placed_at, id`,
    allOrders: `SELECT ${columns} FROM ${table} WHERE NOT removed ORDER BY company_id, placed_at, id`,
    states: `SELECT id, version, removed FROM ${table} WHERE id = ANY($1::text[])`,
  };
}

export interface OrderRow {
  readonly id: string;
  readonly company_id: string;
  readonly status: OrderStatus;
  readonly total: number;
  readonly version: number;
  readonly updated_at: Date;
}

export function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    companyId: row.company_id,
    status: row.status,
    total: row.total,
    version: row.version,
    updatedAt: row.updated_at.toISOString(),
  };
}
