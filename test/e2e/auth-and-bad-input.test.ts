import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpUrl, openAdmin, uniqueName, type Admin, projectorQueues } from '../utils/amqp.js';
import { collectPokes, query, token, wsClient } from '../utils/graphql-client.js';
import { createDatabase, killAll, metric, startService, type ServiceProcess } from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';

/** Opens a raw graphql-transport-ws socket and resolves with how the server closed it. */
function closeOf(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
}

function rawSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('auth and bad input, end to end', () => {
  const exchange = uniqueName('pokegate.e2e.auth');
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let service: ServiceProcess;
  let admin: Admin;

  beforeAll(async () => {
    database = await createDatabase();
    admin = await openAdmin();
    service = await startService({ AMQP_URL: amqpUrl, DATABASE_URL: database.url, EXCHANGE: exchange });
  }, 120_000);

  afterAll(async () => {
    const exit = await service.stop();
    killAll();
    expect(exit.code).toBe(0);
    expect(service.logs.filter((log) => (log['level'] as number) >= 50)).toEqual([]);
    await admin.deleteQueues(projectorQueues(`${exchange}.orders-projector`));
    await admin.deleteExchange(exchange);
    await admin.close();
    await database.drop();
  }, 60_000);

  describe('auth', () => {
    it('closes a socket without a token with 4403', async () => {
      const socket = await rawSocket(service.wsUrl);
      const closed = closeOf(socket);
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      expect((await closed).code).toBe(4403);
    });

    it('closes a socket with a bad token with 4403', async () => {
      const socket = await rawSocket(service.wsUrl);
      const closed = closeOf(socket);
      socket.send(
        JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer not-a-jwt' } }),
      );
      expect((await closed).code).toBe(4403);
    });

    it('answers HTTP without a token with 401', async () => {
      const response = await query(service.httpUrl, undefined, '{ orders(companyId: "c1") { id } }');
      expect(response.status).toBe(401);
    });

    it('gives a GraphQL error and no data for another company, over HTTP and WebSocket', async () => {
      const jwt = await token({ companies: ['c1'] });
      const read = await query(service.httpUrl, jwt, '{ orders(companyId: "c2") { id } }');
      expect(read.body.data).toBeNull();
      expect(read.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const write = await query(
        service.httpUrl,
        jwt,
        'mutation { placeOrder(companyId: "c2", total: 1) { orderId } }',
      );
      expect(write.body.data).toBeNull();
      expect(write.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const client = wsClient(service.wsUrl, jwt);
      const subscription = collectPokes(client, 'c2');
      await waitFor('the subscription error', () => subscription.errors.length > 0);
      expect(subscription.pokes).toEqual([]);
      expect(JSON.stringify(subscription.errors)).toContain('Forbidden');
      await client.dispose();
    });

    it('refuses the "*" view without admin, and serves it with admin', async () => {
      const user = wsClient(service.wsUrl, await token({ companies: ['c1'] }));
      const denied = collectPokes(user, '*');
      await waitFor('the subscription error', () => denied.errors.length > 0);
      expect(denied.pokes).toEqual([]);
      await user.dispose();

      const before = await metric(service.httpUrl, 'pokegate_receivers');
      const adminClient = wsClient(service.wsUrl, await token({ companies: [], admin: true }));
      const everything = collectPokes(adminClient, '*');
      await waitFor(
        'the admin subscription',
        async () => (await metric(service.httpUrl, 'pokegate_receivers')) > before,
      );
      const jwt = await token({ companies: ['c-any'] });
      const placed = await query<{ placeOrder: { orderId: string } }>(
        service.httpUrl,
        jwt,
        'mutation { placeOrder(companyId: "c-any", total: 2) { orderId } }',
      );
      const orderId = placed.body.data?.placeOrder.orderId;
      await waitFor('the admin poke', () => everything.pokes.some((p) => p.orderId === orderId));
      everything.dispose();
      await adminClient.dispose();
    });

    it('closes the socket with 4403 when the token expires', async () => {
      const closes: number[] = [];
      const client = wsClient(service.wsUrl, await token({ companies: ['c1'], expiresInSec: 2 }), (code) =>
        closes.push(code),
      );
      const subscription = collectPokes(client, 'c1');
      await waitFor('the expiry close', () => closes.length > 0, { timeoutMs: 10_000 });
      expect(closes).toEqual([4403]);
      subscription.dispose();
      await client.dispose();
    });
  });

  describe('bad input', () => {
    it('answers invalid GraphQL and unknown fields with errors, over HTTP and WebSocket', async () => {
      const jwt = await token({ companies: ['c1'] });
      const syntax = await query(service.httpUrl, jwt, '{ orders(companyId: "c1" { id } }');
      expect(syntax.body.errors?.[0]?.message).toMatch(/Syntax Error/);
      const unknown = await query(service.httpUrl, jwt, '{ orders(companyId: "c1") { id secret } }');
      expect(unknown.body.errors?.[0]?.message).toMatch(/Cannot query field "secret"/);
      const client = wsClient(service.wsUrl, jwt);
      const errors: unknown[] = [];
      await new Promise<void>((resolve) => {
        client.subscribe(
          { query: 'subscription { ordersChanged(companyId: "c1") { nope } }' },
          {
            next: () => undefined,
            error: (e) => {
              errors.push(e);
              resolve();
            },
            complete: resolve,
          },
        );
      });
      expect(JSON.stringify(errors)).toMatch(/Cannot query field \\"nope\\"/);
      await client.dispose();
    });

    it('closes a socket that sends an oversized frame with 1009, and keeps serving', async () => {
      const socket = await rawSocket(service.wsUrl);
      const closed = closeOf(socket);
      socket.send('x'.repeat(200_000));
      expect((await closed).code).toBe(1009);
      const big = await fetch(`${service.httpUrl}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await token({ companies: ['c1'] })}`,
        },
        body: JSON.stringify({ query: `{ orders(companyId: "${'c'.repeat(100_000)}") { id } }` }),
      });
      expect(big.status).toBe(413);
      expect(
        (
          await query(
            service.httpUrl,
            await token({ companies: ['c1'] }),
            '{ orders(companyId: "c1") { id } }',
          )
        ).status,
      ).toBe(200);
    });

    it('counts and acknowledges malformed events, and still pokes the next valid one', async () => {
      const jwt = await token({ companies: ['c-bad'] });
      const before = await metric(service.httpUrl, 'pokegate_receivers');
      const client = wsClient(service.wsUrl, jwt);
      const subscription = collectPokes(client, 'c-bad');
      await waitFor(
        'the subscription',
        async () => (await metric(service.httpUrl, 'pokegate_receivers')) > before,
      );
      const malformedBefore = await metric(service.httpUrl, 'pokegate_events_total', {
        outcome: 'malformed',
      });
      await admin.publish(exchange, 'orders.placed', Buffer.from('{not json'));
      await admin.publish(exchange, 'orders.placed', Buffer.from('[1,2,3]'));
      await admin.publish(
        exchange,
        'orders.placed',
        Buffer.from(JSON.stringify({ type: 'OrderPlaced', companyId: 'c-bad' })),
      );
      await admin.publish(exchange, 'orders.placed', Buffer.alloc(100_000, 0x20));
      const placed = await query<{ placeOrder: { orderId: string } }>(
        service.httpUrl,
        jwt,
        'mutation { placeOrder(companyId: "c-bad", total: 1) { orderId } }',
      );
      const orderId = placed.body.data?.placeOrder.orderId;
      await waitFor('the poke after the bad events', () =>
        subscription.pokes.some((p) => p.orderId === orderId),
      );
      expect(
        (await metric(service.httpUrl, 'pokegate_events_total', { outcome: 'malformed' })) - malformedBefore,
      ).toBe(4);
      subscription.dispose();
      await client.dispose();
    });
  });
});
