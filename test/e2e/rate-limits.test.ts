import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../utils/app.js';
import { collectPokes, query, token, wsClient } from '../utils/graphql-client.js';
import { metric } from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';

const read = '{ orders(companyId: "c1") { id } }';

/** Sends `count` subscribe messages on one raw socket and collects what comes back. */
async function floodSubscribes(wsUrl: string, jwt: string, count: number) {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const messages: { type: string; id?: string; payload?: unknown }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as never));
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${jwt}` } }));
  await waitFor('connection_ack', () => messages.some((message) => message.type === 'connection_ack'));
  for (let i = 0; i < count && socket.readyState === socket.OPEN; i++)
    socket.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: read } }));
  return { messages, closed };
}

describe('rate limits per token and per connection', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({
      // A slow refill, so that the burst is spent however slowly a loaded machine sends the requests.
      RATE_LIMIT_TOKEN_PER_SEC: '1',
      RATE_LIMIT_TOKEN_BURST: '20',
      RATE_LIMIT_CONNECTION_PER_SEC: '5',
      RATE_LIMIT_CONNECTION_BURST: '10',
      RATE_LIMIT_CLOSE_AFTER: '5',
    });
  }, 60_000);

  afterAll(async () => {
    await service.stop();
  }, 60_000);

  it('answers 429 with Retry-After past a token’s burst, and not to another token', async () => {
    const abuser = await token({ sub: 'abuser-http', companies: ['c1'] });
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const response = await fetch(`${service.httpUrl}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${abuser}` },
          body: JSON.stringify({ query: read }),
        });
        const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
        return [response.status, response.headers.get('retry-after'), body.errors?.[0]?.extensions?.code];
      }),
    );
    expect(statuses.filter(([status]) => status === 200).length).toBeGreaterThanOrEqual(20);
    expect(statuses).toContainEqual([429, '1', 'RATE_LIMITED']);
    const other = await token({ sub: 'someone-else', companies: ['c1'] });
    expect((await query(service.httpUrl, other, read)).status).toBe(200);
  });

  it('answers an error result past a connection’s burst, then closes a connection that keeps going', async () => {
    const jwt = await token({ sub: 'abuser-ws', companies: ['c1'] });
    const { messages, closed } = await floodSubscribes(service.wsUrl, jwt, 40);
    expect(await closed).toEqual({ code: 1008, reason: 'Rate limit exceeded' });
    const refused = messages.filter(
      (message) => message.type === 'error' && JSON.stringify(message.payload).includes('"RATE_LIMITED"'),
    );
    expect(refused.length).toBeGreaterThanOrEqual(5);
    // The burst's operations ran; some may not have answered before the close.
    expect(messages.filter((message) => message.type === 'next').length).toBeLessThanOrEqual(10);
  });

  it('keeps a normal client’s write → poke going while another token floods', async () => {
    const abuser = await token({ sub: 'abuser-flood', companies: ['c9'] });
    const user = await token({ sub: 'user', companies: ['c2'] });
    const client = wsClient(service.wsUrl, user);
    const subscription = collectPokes(client, 'c2');
    const skippedBefore = await metric(service.httpUrl, 'pokegate_skipped_total');
    let flooding = true;
    let refusals = 0;
    const flood = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (flooding) {
          const { status } = await query(service.httpUrl, abuser, '{ orders(companyId: "c9") { id } }');
          if (status === 429) refusals++;
        }
      }),
    );
    try {
      await waitFor(
        'the subscription',
        async () => (await metric(service.httpUrl, 'pokegate_receivers')) === 1,
      );
      const orderIds: string[] = [];
      for (let i = 0; i < 10; i++) {
        const { body } = await query<{ placeOrder: { orderId: string } }>(
          service.httpUrl,
          user,
          'mutation { placeOrder(companyId: "c2", total: 1) { orderId } }',
        );
        const orderId = body.data?.placeOrder.orderId ?? '';
        orderIds.push(orderId);
        await waitFor(`the poke of ${orderId}`, () =>
          subscription.pokes.some((poke) => poke.orderId === orderId),
        );
      }
      // First the resync poke of c2's new binding on this replica, then one poke per order.
      expect(subscription.pokes.map((poke) => poke.orderId)).toEqual([null, ...orderIds]);
      expect(subscription.errors).toEqual([]);
      expect(refusals).toBeGreaterThan(0);
      expect(await metric(service.httpUrl, 'pokegate_skipped_total')).toBe(skippedBefore);
    } finally {
      flooding = false;
      await flood;
      subscription.dispose();
      await client.dispose();
    }
  });
});
