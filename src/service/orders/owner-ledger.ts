import type { SqlClient } from './sql-client.js';

/**
 * The owning service's record of each order's latest version, so the
 * mutations that stand in for it can number events without reading the
 * (lagging) read view. In production that service owns this; here it is a
 * table beside the read view, or memory for the embedded default.
 */
export interface OrderLedger {
  /**
   * Takes the order's next version and runs `publish` with it; the version is
   * kept only if `publish` resolves, so a failed publish leaves no gap.
   * Resolves null for an unknown or removed order.
   */
  next<T>(
    orderId: string,
    change: { companyId?: string; remove?: boolean },
    publish: (version: number, companyId: string) => Promise<T>,
  ): Promise<T | null>;
  companyOf(orderId: string): Promise<string | null>;
  close(): Promise<void>;
}

interface Entry {
  companyId: string;
  version: number;
  removed: boolean;
}

/** In one process: a map, with a per-order chain so concurrent writes number in turn. */
export function createMemoryLedger(): OrderLedger {
  const entries = new Map<string, Entry>();
  const chains = new Map<string, Promise<unknown>>();
  return {
    next(orderId, change, publish) {
      const previous = chains.get(orderId) ?? Promise.resolve();
      const run = previous.then(async () => {
        const entry = entries.get(orderId);
        if (change.companyId !== undefined) {
          if (entry !== undefined) return null;
          const result = await publish(1, change.companyId);
          entries.set(orderId, { companyId: change.companyId, version: 1, removed: false });
          return result;
        }
        if (entry === undefined || entry.removed) return null;
        const result = await publish(entry.version + 1, entry.companyId);
        entry.version++;
        entry.removed = change.remove === true;
        return result;
      });
      const settled = run.catch(() => undefined);
      chains.set(orderId, settled);
      void settled.then(() => {
        if (chains.get(orderId) === settled) chains.delete(orderId);
      });
      return run;
    },
    companyOf(orderId) {
      return Promise.resolve(entries.get(orderId)?.companyId ?? null);
    },
    close: () => Promise.resolve(),
  };
}

/** Shared by replicas: a row per order, locked while its next event is published. */
export async function createSqlLedger(client: SqlClient): Promise<OrderLedger> {
  try {
    await client.transaction(async (query) => {
      // Two replicas starting at once can both fail `CREATE … IF NOT EXISTS` on
      // the catalog's unique index; the lock lets one create, then the other see it.
      await query('SELECT pg_advisory_xact_lock(hashtext($1))', ['pokegate.order_ledger']);
      await query(`CREATE TABLE IF NOT EXISTS order_ledger (
        id text PRIMARY KEY,
        company_id text NOT NULL,
        version integer NOT NULL,
        removed boolean NOT NULL DEFAULT false
      )`);
    });
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  return {
    next(orderId, change, publish) {
      return client.transaction(async (query) => {
        if (change.companyId !== undefined) {
          const inserted = await query(
            'INSERT INTO order_ledger (id, company_id, version) VALUES ($1, $2, 1) ON CONFLICT (id) DO NOTHING RETURNING id',
            [orderId, change.companyId],
          );
          return inserted.length === 0 ? null : publish(1, change.companyId);
        }
        // The row lock orders concurrent writers; it is released when the publish is confirmed.
        const rows = await query<{ company_id: string; version: number }>(
          `UPDATE order_ledger SET version = version + 1, removed = $2
           WHERE id = $1 AND NOT removed RETURNING company_id, version`,
          [orderId, change.remove === true],
        );
        const row = rows[0];
        return row === undefined ? null : publish(row.version, row.company_id);
      });
    },
    async companyOf(orderId) {
      const rows = await client.query<{ company_id: string }>(
        'SELECT company_id FROM order_ledger WHERE id = $1',
        [orderId],
      );
      return rows[0]?.company_id ?? null;
    },
    close: () => client.close(),
  };
}
