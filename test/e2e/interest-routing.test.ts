import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpUrl, openAdmin, projectorQueues, uniqueName, type Admin } from '../utils/amqp.js';
import { collectPokes, query, token, wsClient, type Poke } from '../utils/graphql-client.js';
import {
  createDatabase,
  killAll,
  metric,
  startService,
  subscribeOn,
  type ServiceProcess,
} from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';

type Database = Awaited<ReturnType<typeof createDatabase>>;

// Two replicas of the reference service on one exchange, one database and one
// projector queue, with interest routing on (the default): each replica's
// transient queue is bound to the companies of its own subscribers.
describe('interest routing across replicas', () => {
  const exchange = uniqueName('pokegate.e2e.interest');
  const projectorQueue = `${exchange}.orders-projector`;
  let database: Database;
  let admin: Admin;
  /** A short linger and a low maximum, so both show within a test. */
  let one: ServiceProcess;
  let two: ServiceProcess;

  beforeAll(async () => {
    admin = await openAdmin();
    database = await createDatabase();
    const env = { AMQP_URL: amqpUrl, DATABASE_URL: database.url, EXCHANGE: exchange };
    one = await startService({ ...env, INTEREST_LINGER_MS: '300', INTEREST_MAX_BINDINGS: '2' });
    two = await startService(env);
  }, 120_000);

  afterAll(async () => {
    const exits = await Promise.all([one, two].map((replica) => replica.stop()));
    killAll();
    for (const exit of exits) expect(exit.code).toBe(0);
    await admin.deleteQueues(projectorQueues(projectorQueue));
    await admin.deleteExchange(exchange);
    await admin.close();
    await database.drop();
  }, 60_000);

  async function placeOrder(companyId: string): Promise<string> {
    const placed = await query<{ placeOrder: { orderId: string } }>(
      one.httpUrl,
      await token({ companies: [companyId] }),
      'mutation ($c: ID!) { placeOrder(companyId: $c, total: 10) { orderId } }',
      { c: companyId },
    );
    const orderId = placed.body.data?.placeOrder.orderId;
    if (orderId === undefined) throw new Error(`placeOrder failed: ${JSON.stringify(placed.body)}`);
    return orderId;
  }

  const pokeOf = (pokes: readonly Poke[], orderId: string) =>
    waitFor(`a poke for ${orderId}`, () => pokes.find((poke) => poke.orderId === orderId), {
      timeoutMs: 15_000,
    });

  /** Messages the replica's transient consumer received so far, whatever their outcome. */
  const received = (replica: ServiceProcess): Promise<number> =>
    metric(replica.httpUrl, 'pokegate_events_total');
  const bindings = (replica: ServiceProcess): Promise<number> =>
    metric(replica.httpUrl, 'pokegate_interest_bindings');

  it("splits the events between two replicas by their subscribers' companies, while the projection gets them all", async () => {
    const onOne = await subscribeOn(one, 'c-one');
    const onTwo = await subscribeOn(two, 'c-two');
    // Counted once bound: the version-1 keys and the company's pattern.
    expect(await bindings(one)).toBe(2);
    expect(await bindings(two)).toBe(2);
    const [oneBefore, twoBefore] = [await received(one), await received(two)];
    const nobody = await placeOrder('c-nobody');
    await placeOrder('c-two');
    await placeOrder('c-one');
    const lastTwo = await placeOrder('c-two');
    const lastOne = await placeOrder('c-one');
    // One publisher, in order: once the last event of a company arrived, every earlier one bound there had too.
    await pokeOf(onTwo.subscription.pokes, lastTwo);
    await pokeOf(onOne.subscription.pokes, lastOne);
    expect((await received(one)) - oneBefore).toBe(2);
    expect((await received(two)) - twoBefore).toBe(2);
    // The projector's queue takes every event: the order of a company nobody watches is in the read view.
    await waitFor('the projection of every event', async () => {
      const orders = await query<{ orders: { id: string }[] }>(
        two.httpUrl,
        await token({ companies: ['c-nobody'] }),
        '{ orders(companyId: "c-nobody") { id } }',
      );
      return orders.body.data?.orders.some((order) => order.id === nobody);
    });
    for (const { client, subscription } of [onOne, onTwo]) {
      subscription.dispose();
      await client.dispose();
    }
  }, 60_000);

  it('misses nothing of a subscriber whose binding is new: an order placed the moment it is counted', async () => {
    const { client, subscription } = await subscribeOn(two, 'c-new');
    // The subscription resolver waited for the broker's bind-ok before counting it: the event is routed.
    const first = await placeOrder('c-new');
    await pokeOf(subscription.pokes, first);
    // A second subscriber of the company, bound by now, needs no resync poke.
    const bound = await subscribeOn(two, 'c-new');
    const second = await placeOrder('c-new');
    await pokeOf(subscription.pokes, second);
    await pokeOf(bound.subscription.pokes, second);
    // The binding was new: one resync poke, before any order's, so the client refetched after bind-ok.
    expect(subscription.pokes.filter((poke) => poke.orderId === null)).toHaveLength(1);
    expect(subscription.pokes[0]?.orderId).toBeNull();
    expect(bound.subscription.pokes.map((poke) => poke.orderId)).toEqual([second]);
    // The refetch after the last poke sees both orders.
    const orders = await query<{ orders: { id: string }[] }>(
      two.httpUrl,
      await token({ companies: ['c-new'] }),
      '{ orders(companyId: "c-new") { id } }',
    );
    expect(orders.body.data?.orders.map((order) => order.id)).toEqual([first, second]);
    for (const opened of [{ client, subscription }, bound]) {
      opened.subscription.dispose();
      await opened.client.dispose();
    }
  }, 60_000);

  it('removes a binding after the linger, and binds the wide pattern past the maximum', async () => {
    await waitFor('the earlier bindings gone', async () => (await bindings(one)) === 1);
    const subscribed = [];
    for (const companyId of ['c-m1', 'c-m2']) subscribed.push(await subscribeOn(one, companyId));
    await waitFor('two companies bound', async () => (await bindings(one)) === 3);
    subscribed.push(await subscribeOn(one, 'c-m3'));
    // Past INTEREST_MAX_BINDINGS=2: the version-1 keys and orders.#, nothing else.
    await waitFor('the wide pattern alone', async () => (await bindings(one)) === 2);
    const before = await received(one);
    const other = await placeOrder('c-elsewhere');
    const mine = await placeOrder('c-m1');
    await pokeOf(subscribed[0]?.subscription.pokes ?? [], mine);
    expect((await received(one)) - before).toBe(2);
    expect(other).not.toBe(mine);
    for (const { client, subscription } of subscribed) {
      subscription.dispose();
      await client.dispose();
    }
    // Every company gone after its linger: the version-1 keys alone.
    await waitFor('the bindings removed after the linger', async () => (await bindings(one)) === 1);
  }, 60_000);

  it('binds orders.# for an admin on "*", who gets every company', async () => {
    const receivers = await metric(two.httpUrl, 'pokegate_receivers');
    const client = wsClient(two.wsUrl, await token({ sub: 'admin', companies: [], admin: true }));
    const subscription = collectPokes(client, '*');
    await waitFor(
      'the admin counted',
      async () => (await metric(two.httpUrl, 'pokegate_receivers')) > receivers,
    );
    // orders.# bound, then the companies still lingering here unbound: the version-1 keys and orders.#.
    await waitFor('the wide binding alone', async () => (await bindings(two)) === 2);
    const a = await placeOrder('c-any-1');
    const b = await placeOrder('c-any-2');
    await pokeOf(subscription.pokes, a);
    await pokeOf(subscription.pokes, b);
    subscription.dispose();
    await client.dispose();
  }, 60_000);
});
