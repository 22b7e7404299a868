import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAdmin, projectorQueues, uniqueName, amqpUrl, type Admin } from '../utils/amqp.js';
import { query, token, type collectPokes, type Poke } from '../utils/graphql-client.js';
import {
  createDatabase,
  killAll,
  metric,
  startService,
  subscribeOn,
  type ServiceProcess,
} from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';
import { startSplitProxy } from '../utils/split-proxy.js';
import { watchOrders } from '../utils/live-orders.js';
import type { OrdersQuery } from '../../src/service/generated/operations.js';
import { createLiveClient } from 'pokegate/client';
import WebSocket from 'ws';

type Database = Awaited<ReturnType<typeof createDatabase>>;

const orderQuery = 'query ($id: ID!) { order(id: $id) { version } }';

// Replicas that each keep a read view of their own (their own database and
// projector queue) on one exchange: a poke from one, the refetch on another.
describe('read-after tokens across replicas with read views of their own', () => {
  const exchange = uniqueName('pokegate.e2e.after');
  const databases: Database[] = [];
  const queues: string[] = [];
  const replicas: ServiceProcess[] = [];
  let admin: Admin;

  /** A replica with a database and a projector queue of its own. */
  async function startReplica(env: Record<string, string> = {}): Promise<ServiceProcess> {
    const database = await createDatabase();
    databases.push(database);
    const queue = uniqueName(`${exchange}.projector`);
    queues.push(...projectorQueues(queue));
    const replica = await startService({
      AMQP_URL: amqpUrl,
      DATABASE_URL: database.url,
      EXCHANGE: exchange,
      PROJECTOR_QUEUE: queue,
      ...env,
    });
    replicas.push(replica);
    return replica;
  }

  beforeAll(async () => {
    admin = await openAdmin();
    await startReplica();
    // The second lags: every event shows in its read view 500 ms after the first's.
    await startReplica({ PROJECTION_DELAY_MS: '500' });
  }, 120_000);

  afterAll(async () => {
    const exits = await Promise.all(replicas.map((r) => r.stop()));
    killAll();
    for (const exit of exits) expect(exit.code).toBe(0);
    await admin.deleteQueues(queues);
    await admin.deleteExchange(exchange);
    await admin.close();
    for (const database of databases) await database.drop();
  }, 60_000);

  function pokeFor(subscription: ReturnType<typeof collectPokes>, orderId: string, version: number) {
    return waitFor(
      `a poke for ${orderId} v${version}`,
      () =>
        subscription.pokes.find(
          (p): p is Poke & { token: string } =>
            p.orderId === orderId && (p.version ?? 0) >= version && p.token !== null,
        ),
      { timeoutMs: 15_000 },
    );
  }

  async function placeOrder(replica: ServiceProcess, jwt: string, companyId: string): Promise<string> {
    const placed = await query<{ placeOrder: { orderId: string } }>(
      replica.httpUrl,
      jwt,
      'mutation ($c: ID!) { placeOrder(companyId: $c, total: 10) { orderId } }',
      { c: companyId },
    );
    const orderId = placed.body.data?.placeOrder.orderId;
    if (orderId === undefined) throw new Error(`placeOrder failed: ${JSON.stringify(placed.body)}`);
    return orderId;
  }

  it('answers each refetch on the lagging replica with the poked version or newer, when it carries the token', async () => {
    const [one, two] = replicas as [ServiceProcess, ServiceProcess];
    const jwt = await token({ companies: ['c-after'] });
    const { client, subscription } = await subscribeOn(one, 'c-after');
    const visibleBefore = await metric(two.httpUrl, 'pokegate_read_after_total', { outcome: 'visible' });
    const timeoutBefore = await metric(two.httpUrl, 'pokegate_read_after_total', { outcome: 'timeout' });
    const orderId = await placeOrder(one, jwt, 'c-after');
    const statuses = ['PAID', 'SHIPPED', 'CANCELLED', 'PLACED'];
    let staleWithout = 0;
    let olderWith = 0;
    let waited = 0;
    for (let version = 1; version <= 50; version++) {
      if (version > 1) {
        await query(
          one.httpUrl,
          jwt,
          'mutation ($id: ID!, $s: OrderStatus!) { setOrderStatus(id: $id, status: $s) { version } }',
          { id: orderId, s: statuses[version % 4] },
        );
      }
      const poke = await pokeFor(subscription, orderId, version);
      // The same refetch without the token: what a client got before tokens.
      const without = await query<{ order: { version: number } | null }>(two.httpUrl, jwt, orderQuery, {
        id: orderId,
      });
      if ((without.body.data?.order?.version ?? 0) < (poke.version ?? Infinity)) staleWithout++;
      const read = await query<{ order: { version: number } | null }>(
        two.httpUrl,
        jwt,
        orderQuery,
        { id: orderId },
        { pokegate: { after: poke.token } },
      );
      expect(read.body.errors).toBeUndefined();
      if ((read.body.data?.order?.version ?? 0) < (poke.version ?? Infinity)) olderWith++;
      expect(read.body.extensions?.pokegate?.stale).toBeUndefined();
      if ((read.body.extensions?.pokegate?.waitedMs ?? 0) > 0) waited++;
    }
    expect(olderWith).toBe(0);
    // Without the token the lagging replica does answer with older data: the tokens are what prevents it.
    expect(staleWithout).toBeGreaterThan(0);
    expect(waited).toBeGreaterThan(0);
    expect(
      (await metric(two.httpUrl, 'pokegate_read_after_total', { outcome: 'visible' })) - visibleBefore,
    ).toBe(50);
    expect(
      (await metric(two.httpUrl, 'pokegate_read_after_total', { outcome: 'timeout' })) - timeoutBefore,
    ).toBe(0);
    subscription.dispose();
    await client.dispose();
  }, 180_000);

  it('takes the token from a GET request’s extensions parameter too', async () => {
    const [one, two] = replicas as [ServiceProcess, ServiceProcess];
    const jwt = await token({ companies: ['c-get'] });
    const { client, subscription } = await subscribeOn(one, 'c-get');
    const orderId = await placeOrder(one, jwt, 'c-get');
    const poke = await pokeFor(subscription, orderId, 1);
    const url = new URL(`${two.httpUrl}/graphql`);
    url.searchParams.set('query', orderQuery);
    url.searchParams.set('variables', JSON.stringify({ id: orderId }));
    url.searchParams.set('extensions', JSON.stringify({ pokegate: { after: [poke.token] } }));
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${jwt}`, accept: 'application/json' },
    });
    const body = (await response.json()) as { data?: { order: { version: number } | null } };
    expect(body.data?.order?.version).toBe(1);
    subscription.dispose();
    await client.dispose();
  }, 60_000);

  it('refuses a forged token and another company’s token with BAD_USER_INPUT and no data', async () => {
    const [one, two] = replicas as [ServiceProcess, ServiceProcess];
    const jwt = await token({ companies: ['c-mine'] });
    const { client, subscription } = await subscribeOn(one, 'c-mine');
    const orderId = await placeOrder(one, jwt, 'c-mine');
    const poke = await pokeFor(subscription, orderId, 1);
    const invalidBefore = await metric(two.httpUrl, 'pokegate_read_after_total', { outcome: 'invalid' });
    // One character of the signature changed (the first: the last one's low bits are padding).
    const [label, payload, mac = ''] = poke.token.split('.');
    const forged = `${label}.${payload}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;
    const other = await token({ companies: ['c-other'] });
    for (const [caller, after] of [
      [jwt, forged],
      [jwt, 'not-a-token'],
      [other, poke.token],
    ] as const) {
      const read = await query(two.httpUrl, caller, orderQuery, { id: orderId }, { pokegate: { after } });
      expect(read.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(read.body.data).toBeUndefined();
    }
    expect(
      (await metric(two.httpUrl, 'pokegate_read_after_total', { outcome: 'invalid' })) - invalidBefore,
    ).toBe(3);
    subscription.dispose();
    await client.dispose();
  }, 60_000);

  it('keeps a live client whose pokes come from one replica and refetches from the lagging one never older than a poke', async () => {
    const [one, two] = replicas as [ServiceProcess, ServiceProcess];
    const companyId = 'c-live';
    const jwt = await token({ companies: [companyId] });
    const proxy = await startSplitProxy(one.wsUrl, two.wsUrl);
    const client = createLiveClient({
      url: proxy.url,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${jwt}` },
    });
    const { live, answers: shown } = watchOrders(client, companyId);
    try {
      await waitFor('the first answer', () => shown.length > 0);
      const orderId = await placeOrder(one, jwt, companyId);
      const writes = 10;
      for (let version = 2; version <= writes; version++) {
        await query(
          one.httpUrl,
          jwt,
          'mutation ($id: ID!) { setOrderStatus(id: $id, status: PAID) { version } }',
          { id: orderId },
        );
      }
      const versionShown = (data: OrdersQuery | undefined) =>
        data?.orders.find((order) => order.id === orderId)?.version ?? 0;
      await waitFor('the last write shown', () => versionShown(live.data) === writes, { timeoutMs: 30_000 });

      // On the wire: each query sent after a poke is answered by the lagging replica with that poke's version or newer.
      const frames = proxy.frames;
      let checked = 0;
      let waited = 0;
      frames.forEach((frame, index) => {
        if (frame.kind !== 'next' || frame.from !== 'subscriptions') return;
        const poke = (frame.payload['data'] as { ordersChanged: Poke }).ordersChanged;
        // The resync poke of the company's new binding on `one`: no version, no token to wait for.
        if (poke.orderId === null) return;
        const refetch = frames.slice(index + 1).find((f) => f.kind === 'subscribe' && f.to === 'queries');
        if (refetch === undefined) return;
        const answer = frames.find((f) => f.kind === 'next' && f.id === refetch.id);
        const data = answer?.payload['data'] as OrdersQuery | undefined;
        const extensions = answer?.payload['extensions'] as { pokegate?: { waitedMs: number; stale?: true } };
        // Older only when it says so: writes faster than the lag can outrun the budget.
        if (extensions.pokegate?.stale !== true) {
          expect(versionShown(data), `the refetch after the poke of v${poke.version}`).toBeGreaterThanOrEqual(
            poke.version ?? 0,
          );
        }
        if ((extensions.pokegate?.waitedMs ?? 0) > 0) waited++;
        checked++;
      });
      expect(checked).toBeGreaterThan(0);
      // The lagging replica did have to wait: without the tokens these answers would have been older.
      expect(waited).toBeGreaterThan(0);
      // And so the view never went back.
      const versions = shown.map(versionShown);
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
    } finally {
      live.dispose();
      await client.dispose();
      await proxy.close();
    }
  }, 90_000);

  it('answers anyway when the lag is longer than the budget, and says stale: true', async () => {
    const [one] = replicas as [ServiceProcess];
    // Far behind: each event shows 3 s late, and it waits at most 200 ms.
    const far = await startReplica({ PROJECTION_DELAY_MS: '3000', READ_AFTER_TIMEOUT_MS: '200' });
    const jwt = await token({ companies: ['c-far'] });
    const { client, subscription } = await subscribeOn(one, 'c-far');
    const orderId = await placeOrder(one, jwt, 'c-far');
    const poke = await pokeFor(subscription, orderId, 1);
    const read = await query<{ order: { version: number } | null }>(
      far.httpUrl,
      jwt,
      orderQuery,
      { id: orderId },
      { pokegate: { after: poke.token } },
    );
    expect(read.body.errors).toBeUndefined();
    expect(read.body.data?.order ?? null).toBeNull();
    expect(read.body.extensions?.pokegate?.stale).toBe(true);
    expect(await metric(far.httpUrl, 'pokegate_read_after_total', { outcome: 'timeout' })).toBe(1);
    subscription.dispose();
    await client.dispose();
  }, 90_000);
});
