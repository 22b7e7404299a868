import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAdmin, uniqueName, amqpUrl, type Admin, projectorQueues } from '../utils/amqp.js';
import { query, token, type Poke, type collectPokes } from '../utils/graphql-client.js';
import { createDatabase, killAll, startService, subscribeOn, type ServiceProcess } from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';

// The service as a user runs it, on the real broker and database, with a read
// view that lags each event by 200 ms: a poke must still never precede the data.
describe('read-your-writes, end to end', () => {
  const exchange = uniqueName('pokegate.e2e.ryw');
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let replicas: ServiceProcess[] = [];
  let admin: Admin;

  beforeAll(async () => {
    database = await createDatabase();
    admin = await openAdmin();
    const env = {
      AMQP_URL: amqpUrl,
      DATABASE_URL: database.url,
      EXCHANGE: exchange,
      PROJECTION_DELAY_MS: '200',
    };
    // One at a time: both create the same tables on first start.
    replicas = [await startService(env)];
    replicas.push(await startService(env));
  }, 120_000);

  afterAll(async () => {
    const exits = await Promise.all(replicas.map((r) => r.stop()));
    killAll();
    for (const exit of exits) expect(exit.code).toBe(0);
    await admin.deleteQueues(projectorQueues(`${exchange}.orders-projector`));
    await admin.deleteExchange(exchange);
    await admin.close();
    await database.drop();
  }, 60_000);

  async function pokeFor(
    subscription: ReturnType<typeof collectPokes>,
    orderId: string,
    version: number,
  ): Promise<Poke> {
    return waitFor(
      `a poke for ${orderId} v${version}`,
      () => subscription.pokes.find((p) => p.orderId === orderId && (p.version ?? 0) >= version),
      { timeoutMs: 15_000 },
    );
  }

  /** Waits for the poke of `version`, then reads the order on the same replica: is it older than the poke? */
  async function staleAfterPoke(
    replica: ServiceProcess,
    jwt: string,
    subscription: ReturnType<typeof collectPokes>,
    orderId: string,
    version: number,
  ): Promise<boolean> {
    const poke = await pokeFor(subscription, orderId, version);
    const read = await query<{ order: { version: number } | null }>(
      replica.httpUrl,
      jwt,
      'query ($id: ID!) { order(id: $id) { version } }',
      { id: orderId },
    );
    return (read.body.data?.order?.version ?? 0) < (poke.version ?? Infinity);
  }

  it('answers every query after a poke with that version or newer: 50 writes through the mutations', async () => {
    const [replica] = replicas as [ServiceProcess];
    const jwt = await token({ companies: ['c-ryw'] });
    const { client, subscription } = await subscribeOn(replica, 'c-ryw');
    let stale = 0;
    const placed = await query<{ placeOrder: { orderId: string; version: number } }>(
      replica.httpUrl,
      jwt,
      'mutation { placeOrder(companyId: "c-ryw", total: 10) { orderId version } }',
    );
    const orderId = placed.body.data?.placeOrder.orderId ?? '';
    expect(placed.body.data?.placeOrder.version).toBe(1);
    const statuses = ['PAID', 'SHIPPED', 'CANCELLED', 'PLACED'];
    for (let write = 1; write <= 50; write++) {
      let version = 1;
      if (write > 1) {
        const changed = await query<{ setOrderStatus: { version: number } }>(
          replica.httpUrl,
          jwt,
          'mutation ($id: ID!, $s: OrderStatus!) { setOrderStatus(id: $id, status: $s) { version } }',
          { id: orderId, s: statuses[write % 4] },
        );
        version = changed.body.data?.setOrderStatus.version ?? -1;
        expect(version).toBe(write);
      }
      if (await staleAfterPoke(replica, jwt, subscription, orderId, version)) stale++;
    }
    expect(stale).toBe(0);
    subscription.dispose();
    await client.dispose();
  }, 120_000);

  it('does the same for events published straight onto the exchange by another service', async () => {
    const [replica] = replicas as [ServiceProcess];
    const jwt = await token({ companies: ['c-owner'] });
    const { client, subscription } = await subscribeOn(replica, 'c-owner');
    const orderId = uniqueName('o');
    const publish = (version: number) =>
      admin.publish(
        exchange,
        version === 1 ? 'orders.placed' : 'orders.status_changed',
        Buffer.from(
          JSON.stringify({
            eventId: uniqueName('e'),
            type: version === 1 ? 'OrderPlaced' : 'OrderStatusChanged',
            companyId: 'c-owner',
            orderId,
            version,
            occurredAt: new Date().toISOString(),
            data: { total: 5, status: version % 2 === 0 ? 'PAID' : 'SHIPPED' },
          }),
        ),
      );
    let stale = 0;
    for (let version = 1; version <= 50; version++) {
      await publish(version);
      if (await staleAfterPoke(replica, jwt, subscription, orderId, version)) stale++;
    }
    expect(stale).toBe(0);
    subscription.dispose();
    await client.dispose();
  }, 120_000);

  it('pokes a client on each replica, and the other replica answers with the new version', async () => {
    const [one, two] = replicas as [ServiceProcess, ServiceProcess];
    const jwt = await token({ companies: ['c-two'] });
    const a = await subscribeOn(one, 'c-two');
    const b = await subscribeOn(two, 'c-two');
    const placed = await query<{ placeOrder: { orderId: string } }>(
      one.httpUrl,
      jwt,
      'mutation { placeOrder(companyId: "c-two", total: 3) { orderId } }',
    );
    const orderId = placed.body.data?.placeOrder.orderId ?? '';
    await pokeFor(a.subscription, orderId, 1);
    const poke = await pokeFor(b.subscription, orderId, 1);
    const read = await query<{ orders: { id: string; version: number }[] }>(
      two.httpUrl,
      jwt,
      'query { orders(companyId: "c-two") { id version } }',
    );
    expect(read.body.data?.orders.find((o) => o.id === orderId)?.version).toBeGreaterThanOrEqual(
      poke.version ?? Infinity,
    );
    for (const { client, subscription } of [a, b]) {
      subscription.dispose();
      await client.dispose();
    }
  }, 60_000);
});
