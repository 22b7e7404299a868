import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { orderRoutingKey } from '../../src/service/orders/events.js';
import { amqpUrl, openAdmin, uniqueName, type Admin, projectorQueues } from '../utils/amqp.js';
import { collectPokes, ordersChangedSubscription, token, wsClient } from '../utils/graphql-client.js';
import { orderEvent } from '../utils/orders.js';
import { createDatabase, killAll, metric, startService, type ServiceProcess } from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';

// The service as a user runs it, flooded while one client stops reading its
// socket: everyone else keeps getting every poke, and the flood waits in the
// broker rather than in the service.
describe('a flood with a client that stops reading, end to end', () => {
  const exchange = uniqueName('pokegate.e2e.stalled');
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let service: ServiceProcess;
  let admin: Admin;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    database = await createDatabase();
    admin = await openAdmin();
    service = await startService({ AMQP_URL: amqpUrl, DATABASE_URL: database.url, EXCHANGE: exchange });
  }, 120_000);

  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    const exit = await service.stop();
    killAll();
    expect(exit.code).toBe(0);
    await admin.deleteQueues(projectorQueues(`${exchange}.orders-projector`));
    await admin.deleteExchange(exchange);
    await admin.close();
    await database.drop();
  }, 60_000);

  /** A raw socket holding `subscriptions` subscriptions to `companyId`, that then stops reading. */
  async function stalledClient(companyId: string, subscriptions: number): Promise<WebSocket> {
    const authorization = `Bearer ${await token({ companies: [companyId] })}`;
    const socket = new WebSocket(service.wsUrl, 'graphql-transport-ws');
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('open', () => {
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
      });
      socket.once('message', () => {
        // connection_ack
        for (let id = 1; id <= subscriptions; id++) {
          const payload = { query: ordersChangedSubscription, variables: { companyId } };
          socket.send(JSON.stringify({ id: String(id), type: 'subscribe', payload }));
        }
        resolve();
      });
    });
    return socket;
  }

  it('keeps poking the others for every event', async () => {
    const before = await metric(service.httpUrl, 'pokegate_receivers');
    const stalled = await stalledClient('c1', 20);
    const client = wsClient(service.wsUrl, await token({ companies: ['c1'] }));
    const healthy = collectPokes(client, 'c1');
    await waitFor(
      'every subscription to be open',
      async () => (await metric(service.httpUrl, 'pokegate_receivers')) === before + 21,
    );
    // The client's socket stops reading: the kernel's buffers fill, then the service's.
    (stalled as unknown as { _socket: { pause(): void } })._socket.pause();

    const events = Array.from({ length: 500 }, () => orderEvent({ companyId: 'c1' }));
    await Promise.all(
      events.map((event) =>
        admin.publish(exchange, orderRoutingKey(event), Buffer.from(JSON.stringify(event))),
      ),
    );
    const wanted = new Set(events.map((event) => event.orderId));
    await waitFor(
      'a poke for every event at the client that reads',
      () => healthy.pokes.filter((poke) => poke.orderId !== null && wanted.has(poke.orderId)).length >= 500,
      { timeoutMs: 30_000 },
    );
    expect(healthy.errors).toEqual([]);
    expect(await metric(service.httpUrl, 'pokegate_skipped_total', { reason: 'overloaded' })).toBe(0);
    healthy.dispose();
    await client.dispose();
  }, 60_000);
});
