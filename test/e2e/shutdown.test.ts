import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpUrl, openAdmin, uniqueName, type Admin, projectorQueues } from '../utils/amqp.js';
import { collectPokes, query, token, wsClient } from '../utils/graphql-client.js';
import { createDatabase, killAll, metric, startService } from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';

describe('graceful shutdown, end to end', () => {
  const exchange = uniqueName('pokegate.e2e.shutdown');
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let admin: Admin;

  beforeAll(async () => {
    database = await createDatabase();
    admin = await openAdmin();
  });

  afterAll(async () => {
    killAll();
    await admin.deleteQueues(projectorQueues(`${exchange}.orders-projector`));
    await admin.deleteExchange(exchange);
    await admin.close();
    await database.drop();
  });

  it('exits 0 on SIGTERM under load, closing sockets with 1001 and logging no error', async () => {
    const service = await startService({ AMQP_URL: amqpUrl, DATABASE_URL: database.url, EXCHANGE: exchange });
    const jwt = await token({ companies: ['c1', 'c2'] });
    const closes: number[] = [];
    const clients = Array.from({ length: 20 }, () =>
      wsClient(service.wsUrl, jwt, (code) => closes.push(code)),
    );
    const subscriptions = clients.map((client, i) => collectPokes(client, i % 2 === 0 ? 'c1' : 'c2'));
    await waitFor(
      'every subscription',
      async () => (await metric(service.httpUrl, 'pokegate_receivers')) === 20,
    );
    // Writes keep flowing while the signal arrives.
    const load = { writing: true };
    const writer = (async () => {
      while (load.writing) {
        // Refused once the server stops listening: expected, the loop ends with the test.
        await query(
          service.httpUrl,
          jwt,
          'mutation { placeOrder(companyId: "c1", total: 1) { orderId } }',
        ).catch(() => undefined);
      }
    })();
    await waitFor('pokes to flow', () => subscriptions.some((s) => s.pokes.length > 3));
    const exit = await service.stop('SIGTERM');
    load.writing = false;
    await writer;
    expect(exit).toEqual({ code: 0, signal: null });
    await waitFor('every client to see the close', () => closes.length === 20);
    expect(new Set(closes)).toEqual(new Set([1001]));
    expect(service.logs.filter((log) => (log['level'] as number) >= 50)).toEqual([]);
    expect(service.stray.filter((line) => /unhandled|Error/i.test(line))).toEqual([]);
    const messages = service.logs.map((log) => log['msg']);
    expect(messages).toContain('shut down');
    // Every step finished on its own: nothing was cut off by the shutdown deadline.
    expect(messages).not.toContain('shutdown deadline reached: cutting the remaining connections');
    for (const client of clients) await client.dispose();
  }, 90_000);
});
