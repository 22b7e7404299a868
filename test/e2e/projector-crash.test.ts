// A service killed (`kill -9`) while its projector has batches in flight:
// another one takes the unacknowledged deliveries over, and the read view
// ends at every order's last version, nothing lost, nothing applied twice.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderRoutingKey, type OrderEvent } from '../../src/service/orders/events.js';
import { amqpUrl, openAdmin, projectorQueues, uniqueName, type Admin } from '../utils/amqp.js';
import { orderEvent } from '../utils/orders.js';
import { createDatabase, killAll, startService } from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';

const orders = 100;
const versions = 10;

describe('a projector killed mid-batch, end to end', () => {
  const exchange = uniqueName('pokegate.e2e.crash');
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let admin: Admin;
  let client: pg.Client;

  beforeAll(async () => {
    database = await createDatabase();
    admin = await openAdmin();
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  });

  afterAll(async () => {
    killAll();
    await client.end();
    await admin.deleteQueues(projectorQueues(`${exchange}.orders-projector`));
    await admin.deleteExchange(exchange);
    await admin.close();
    await database.drop();
  });

  /** The sum of every order's version, and how many are at `versions`. */
  async function progress(): Promise<{ sum: number; done: number }> {
    const { rows } = await client.query<{ sum: number; done: number }>(
      `SELECT coalesce(sum(version), 0)::int AS sum, count(*) FILTER (WHERE version = $1)::int AS done
       FROM public.orders`,
      [versions],
    );
    return rows[0] ?? { sum: 0, done: 0 };
  }

  it('loses nothing and applies nothing twice when a service is killed with batches in flight', async () => {
    const env = { AMQP_URL: amqpUrl, DATABASE_URL: database.url, EXCHANGE: exchange };
    // The delay keeps batches in flight long enough for the kill to land among them.
    const doomed = await startService({ ...env, PROJECTION_DELAY_MS: '100' });
    const events: OrderEvent[] = [];
    for (let version = 1; version <= versions; version++) {
      for (let o = 0; o < orders; o++) {
        const type =
          version === 1 ? 'OrderPlaced' : version === versions ? 'OrderRemoved' : 'OrderStatusChanged';
        events.push(orderEvent({ companyId: `c${o % 5}`, orderId: `crash-${o}`, version, type }));
      }
    }
    for (const event of events) {
      await admin.publish(exchange, orderRoutingKey(event), Buffer.from(JSON.stringify(event)));
    }
    await waitFor('some batches to commit', async () => (await progress()).sum > orders);
    expect(await doomed.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const atKill = await progress();
    expect(atKill.sum).toBeLessThan(orders * versions);

    const survivor = await startService(env);
    await waitFor('every order at its last version', async () => (await progress()).done === orders, {
      timeoutMs: 30_000,
    });
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM public.orders WHERE version = $1 AND removed AND status = 'PAID'`,
      [versions],
    );
    expect(rows[0]?.n).toBe(orders);
    expect(await admin.drain(`${exchange}.orders-projector.dlq`)).toEqual([]);
    expect(survivor.logs.filter((log) => (log['level'] as number) >= 50)).toEqual([]);
    expect(await survivor.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
