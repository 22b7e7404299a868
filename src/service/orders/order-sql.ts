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
    // One statement for a whole batch: updates of the locked rows (the
    // version condition is redundant under the lock; it keeps the statement
    // right on its own) and placements. A placement that meets a row
    // another replica inserted after the lock inserts nothing: the counts tell.
    write: `WITH batch AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::double precision[], $5::integer[],
          $6::boolean[], $7::timestamptz[], $8::timestamptz[], $9::integer[])
          AS b(id, company_id, status, total, version, removed, placed_at, updated_at, expected)
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
      )
      SELECT (SELECT count(*) FROM updated)::integer AS updated,
        (SELECT count(*) FROM inserted)::integer AS inserted,
        -- The commit notices, in the same round trip: delivered by the server
        -- only after COMMIT, never after a rollback (a race found by the counts).
        (SELECT count(pg_notify($10, payload)) FROM unnest($11::text[]) AS payload)::integer AS notified`,
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
