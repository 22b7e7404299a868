// The owner ledger on a real PostgreSQL: replicas that start at once on a
// fresh database, and version numbering shared between them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlLedger, type OrderLedger } from '../../src/service/orders/owner-ledger.js';
import { createPostgresClient } from '../../src/service/orders/sql-client.js';
import { silentLogger } from 'pokegate';
import { createDatabase } from '../utils/service.js';

describe('the owner ledger on PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createDatabase>>;
  const ledgers: OrderLedger[] = [];

  beforeAll(async () => {
    database = await createDatabase();
  });
  afterAll(async () => {
    for (const ledger of ledgers) await ledger.close();
    await database.drop();
  });

  const open = (): Promise<OrderLedger> =>
    createSqlLedger(
      createPostgresClient({
        connectionString: database.url,
        maxConnections: 2,
        connectionTimeoutMs: 5_000,
        statementTimeoutMs: 10_000,
        applicationName: 'pokegate ledger test',
        logger: silentLogger,
      }),
    );

  it('starts four replicas at once on a fresh database, and they number one order in turn', async () => {
    ledgers.push(...(await Promise.all([open(), open(), open(), open()])));
    const [a, b] = ledgers as [OrderLedger, OrderLedger];
    const publish = (version: number, companyId: string) => Promise.resolve({ version, companyId });
    expect(await a.next('o1', { companyId: 'c1' }, publish)).toEqual({ version: 1, companyId: 'c1' });
    // Placing it again, from another replica, is refused; its changes number on.
    expect(await b.next('o1', { companyId: 'c1' }, publish)).toBeNull();
    const versions = await Promise.all([a.next('o1', {}, publish), b.next('o1', {}, publish)]);
    expect(versions.map((v) => v?.version).sort()).toEqual([2, 3]);
    expect(await b.companyOf('o1')).toBe('c1');
  });
});
