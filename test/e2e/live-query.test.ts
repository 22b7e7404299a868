// The client against the reference service as a user runs it (embedded
// defaults, a real process on a free port), through sockets that record every
// message and can hold answers back, drop or refuse connections.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ordersFresh } from '../../src/service/demo/freshness.js';
import {
  OrdersChangedDocument,
  OrdersDocument,
  PlaceOrderDocument,
} from '../../src/service/generated/operations.js';
import {
  ConnectionFailedError,
  createLiveClient,
  OperationError,
  type ConnectionStatus,
  type LiveClient,
  type LiveClientOptions,
} from 'pokegate/client';
import { type Clock } from 'pokegate';
import { placeOrder as placeOrderOver, query, token } from '../utils/graphql-client.js';
import { ManualClock } from '../utils/manual-clock.js';
import { killAll, metric, startService, subscribeOn, type ServiceProcess } from '../utils/service.js';
import { createSocketRecorder, type Frame, type SocketRecorder } from '../utils/socket-recorder.js';
import { waitFor } from '../utils/wait-for.js';
import { watchOrders, type WatchedOrders } from '../utils/live-orders.js';

/** A clock that moves only when told, and remembers every wait asked of it. */
function recordingClock(): { clock: Clock; manual: ManualClock; sleeps: number[] } {
  const manual = new ManualClock();
  const sleeps: number[] = [];
  return {
    manual,
    sleeps,
    clock: {
      now: () => manual.now(),
      sleep: (ms, signal) => {
        sleeps.push(ms);
        return manual.sleep(ms, signal);
      },
    },
  };
}

interface Harness {
  readonly companyId: string;
  readonly jwt: string;
  readonly client: LiveClient;
  readonly recorder: SocketRecorder;
  readonly manual: ManualClock;
  readonly sleeps: number[];
  readonly clientStatuses: ConnectionStatus[];
}

describe('live queries against the reference service', () => {
  let service: ServiceProcess;
  const clients: LiveClient[] = [];
  /** The subscribers that keep the harnesses' companies bound. */
  const holders: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    service = await startService({});
  }, 120_000);

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.dispose();
    for (const release of holders.splice(0)) await release();
  });

  afterAll(async () => {
    const exit = await service.stop();
    killAll();
    expect(exit.code).toBe(0);
  }, 60_000);

  /**
   * A client on a company of its own. The company is bound on the replica
   * first (another subscriber holds it) unless `bound` is false: the first
   * subscriber of a company new to the replica also gets a resync poke at
   * bind-ok, and the tests below count pokes and fetches exactly.
   */
  async function harness(
    options: Partial<LiveClientOptions> = {},
    {
      bound = true,
      companyId = `c-${randomUUID().slice(0, 8)}`,
    }: { bound?: boolean; companyId?: string } = {},
  ): Promise<Harness> {
    if (bound) {
      const holder = await subscribeOn(service, companyId);
      holders.push(async () => {
        holder.subscription.dispose();
        await holder.client.dispose();
      });
    }
    const jwt = await token({ companies: [companyId] });
    const recorder = createSocketRecorder();
    const { clock, manual, sleeps } = recordingClock();
    const clientStatuses: ConnectionStatus[] = [];
    const client = createLiveClient({
      url: service.wsUrl,
      connectionParams: { authorization: `Bearer ${jwt}` },
      webSocketImpl: recorder.WebSocket,
      clock,
      random: () => 0.5,
      retry: { minDelayMs: 100, maxDelayMs: 400, factor: 2, jitter: 0.5 },
      onStatus: (status) => clientStatuses.push(status),
      ...options,
    });
    clients.push(client);
    return { companyId, jwt, client, recorder, manual, sleeps, clientStatuses };
  }

  function watch({ client, companyId }: Harness, isFresh?: typeof ordersFresh): WatchedOrders {
    return watchOrders(client, companyId, isFresh === undefined ? {} : { isFresh });
  }

  function placeOrder({ jwt, companyId }: Harness): Promise<string> {
    return placeOrderOver(service.httpUrl, jwt, companyId);
  }

  /** Waits until the service's read view answers with the order. */
  async function visible({ jwt }: Harness, orderId: string): Promise<void> {
    await waitFor(`order ${orderId} in the read view`, async () => {
      const read = await query<{ order: { id: string } | null }>(
        service.httpUrl,
        jwt,
        'query ($id: ID!) { order(id: $id) { id } }',
        { id: orderId },
      );
      return read.body.data?.order?.id === orderId;
    });
  }

  const pokeFor = (frames: readonly Frame[], orderId: string): boolean =>
    frames.some((frame) => JSON.stringify(frame.message.payload).includes(orderId));

  const isQueryAnswer = (kind: string | undefined): boolean => kind === 'query';

  it('subscribes before it fetches, so a write landing during the first fetch still shows', async () => {
    const h = await harness();
    // The first answer waits in the socket: whatever the server read for it predates the write below.
    const release = h.recorder.hold((_, kind) => isQueryAnswer(kind));
    const { live, updates } = watch(h, ordersFresh);
    await waitFor('the first answer to be held', () => h.recorder.held > 0);

    const [subscription] = h.recorder.sent('subscription');
    const [fetch] = h.recorder.sent('query');
    expect(subscription).toBeDefined();
    expect(fetch).toBeDefined();
    expect(h.recorder.frames.indexOf(subscription as Frame)).toBeLessThan(
      h.recorder.frames.indexOf(fetch as Frame),
    );

    const orderId = await placeOrder(h);
    await waitFor('the poke of the write', () => pokeFor(h.recorder.pokes(), orderId));
    release();

    await waitFor('the write to show', () => updates.some((update) => update.ids.includes(orderId)));
    // The stale first answer was held back for the refetch the poke asked for: only the fresh one shows.
    expect(updates).toEqual([{ ids: [orderId], reason: 'poke' }]);
    expect(live.stats).toMatchObject({ fetches: 2, held: 1 });
    expect(live.status).toBe('live');
  });

  it('refetches once after the resync poke of a company new to the replica, and not for one already bound', async () => {
    const fresh = await harness({}, { bound: false });
    const { live } = watch(fresh);
    // The broker bound the company for this first subscriber: one resync poke, and one refetch after it.
    await waitFor('the resync poke', () => fresh.recorder.pokes().length === 1);
    expect(JSON.stringify(fresh.recorder.pokes()[0]?.message.payload)).toContain('"orderId":null');
    await waitFor('its refetch', () => live.stats.fetches === 2);
    const orderId = await placeOrder(fresh);
    await waitFor('the poke of the write', () => pokeFor(fresh.recorder.pokes(), orderId));
    await waitFor('its refetch', () => live.stats.fetches === 3);
    expect(fresh.recorder.pokes()).toHaveLength(2);

    // The same company on a second client: bound already, so the write's poke is its first poke.
    const receivers = await metric(service.httpUrl, 'pokegate_receivers');
    const second = await harness({}, { bound: false, companyId: fresh.companyId });
    watch(second);
    await waitFor(
      'the second subscription counted',
      async () => (await metric(service.httpUrl, 'pokegate_receivers')) > receivers,
    );
    const next = await placeOrder(fresh);
    await waitFor('the poke of the next write', () => pokeFor(second.recorder.pokes(), next));
    expect(second.recorder.pokes()).toHaveLength(1);
    expect(JSON.stringify(second.recorder.pokes()[0]?.message.payload)).toContain(next);
  });

  it('coalesces pokes: one fetch in flight and one queued, however many pokes arrive', async () => {
    const h = await harness();
    const { live, updates } = watch(h);
    await waitFor('the first result', () => updates.length === 1);

    const release = h.recorder.hold((_, kind) => isQueryAnswer(kind));
    const first = await placeOrder(h);
    await waitFor('the refetch of the first poke', () => h.recorder.sent('query').length === 2);
    const more: string[] = [];
    for (let i = 0; i < 5; i++) more.push(await placeOrder(h));
    await waitFor('every poke', () => more.every((orderId) => pokeFor(h.recorder.pokes(), orderId)));
    expect(h.recorder.sent('query')).toHaveLength(2);

    release();
    await waitFor('every order to show', () => updates.at(-1)?.ids.length === 6);
    expect(new Set(updates.at(-1)?.ids)).toEqual(new Set([first, ...more]));
    expect(h.recorder.sent('query')).toHaveLength(3);
    expect(updates.map((update) => update.ids.length)).toEqual([0, 6]);
    expect(live.stats).toEqual({ pokes: 6, fetches: 3, coalesced: 5, fresh: 0, held: 1, stale: 0 });
    expect(maxInFlight(h.recorder.frames)).toBe(1);
  });

  it('skips the refetch of a poke whose version the data already shows', async () => {
    const h = await harness();
    const { live, updates } = watch(h, ordersFresh);
    await waitFor('the first result', () => updates.length === 1);

    const release = h.recorder.hold((message, kind) => kind === 'subscription' && message.type === 'next');
    const orderId = await placeOrder(h);
    await visible(h, orderId);
    live.refetch();
    await waitFor('the refetch to show the order', () => updates.at(-1)?.ids.includes(orderId));
    await waitFor('its poke to be held', () => h.recorder.held > 0);
    const before = h.recorder.frames.length;
    release();

    const second = await placeOrder(h);
    await waitFor('the second order to show', () => updates.at(-1)?.ids.includes(second));
    const after = h.recorder.frames.slice(before);
    const firstPoke = after.findIndex((frame) => frame.kind === 'subscription' && pokeFor([frame], orderId));
    const secondPoke = after.findIndex((frame) => frame.kind === 'subscription' && pokeFor([frame], second));
    const fetches = after.flatMap((frame, i) =>
      frame.direction === 'out' && frame.kind === 'query' && frame.message.type === 'subscribe' ? [i] : [],
    );
    expect(firstPoke).toBeGreaterThanOrEqual(0);
    // Nothing fetched for the first poke; one fetch for the second.
    expect(fetches).toHaveLength(1);
    expect(fetches[0]).toBeGreaterThan(secondPoke);
    expect(live.stats).toMatchObject({ pokes: 2, fetches: 3, fresh: 1 });
  });

  it('refetches once after a reconnect, which shows a write made while it was away', async () => {
    const h = await harness();
    const { live, updates, statuses } = watch(h, ordersFresh);
    await waitFor('the first result', () => updates.length === 1);

    h.recorder.dropAll();
    await waitFor('the reconnection wait', () => h.manual.pending === 1);
    expect(live.status).toBe('reconnecting');
    const orderId = await placeOrder(h);
    await visible(h, orderId);
    expect(h.recorder.sent('query')).toHaveLength(1);

    await h.manual.advance(h.sleeps.at(-1) ?? 0);
    await waitFor('the reconnect refetch', () => updates.length === 2);
    expect(updates[1]).toEqual({ ids: [orderId], reason: 'reconnected' });
    // On the new socket too: the subscription first, then exactly one fetch.
    const subscription = h.recorder.sent('subscription', 1);
    const fetches = h.recorder.sent('query', 1);
    expect(subscription).toHaveLength(1);
    expect(fetches).toHaveLength(1);
    expect(h.recorder.frames.indexOf(subscription[0] as Frame)).toBeLessThan(
      h.recorder.frames.indexOf(fetches[0] as Frame),
    );
    expect(statuses).toEqual(['live', 'reconnecting', 'live']);
    expect(h.clientStatuses).toEqual(['connected', 'reconnecting', 'connected']);
  });

  it('waits a jittered backoff that grows with each failed attempt, and starts over after a connection', async () => {
    const h = await harness();
    const { updates } = watch(h);
    await waitFor('the first result', () => updates.length === 1);

    h.recorder.refuse(true);
    h.recorder.dropAll();
    // minDelayMs 100, factor 2, maxDelayMs 400, each less jitter 0.5 × random 0.5.
    const expected = [75, 150, 300, 300];
    for (let attempt = 1; attempt <= expected.length; attempt++) {
      await waitFor(`wait ${attempt}`, () => h.sleeps.length === attempt && h.manual.pending === 1);
      if (attempt < expected.length) await h.manual.advance(h.sleeps.at(-1) ?? 0);
    }
    expect(h.sleeps).toEqual(expected);
    expect(h.recorder.sockets).toHaveLength(4);

    h.recorder.refuse(false);
    await h.manual.advance(300);
    await waitFor('the reconnect refetch', () => updates.length === 2);
    h.recorder.dropAll();
    await waitFor('the next wait', () => h.sleeps.length === 5);
    expect(h.sleeps.at(-1)).toBe(75);
  });

  it('gives up on a close that retrying cannot mend: a bad token (4403)', async () => {
    const h = await harness({ connectionParams: { authorization: 'Bearer not-a-jwt' } });
    const { live, errors } = watch(h);
    await waitFor('the failure', () => h.client.status === 'failed');
    expect(h.client.error).toBeInstanceOf(ConnectionFailedError);
    expect(h.client.error).toMatchObject({ code: 4403 });
    expect(live.status).toBe('failed');
    expect(errors).toEqual([h.client.error]);
    await expect(h.client.request(OrdersDocument, { companyId: h.companyId })).rejects.toBe(h.client.error);
    expect(h.manual.pending).toBe(0);
    expect(h.recorder.sockets).toHaveLength(1);
  });

  it('fails a live query whose subscription the server refuses, and keeps the connection', async () => {
    const h = await harness();
    const forbidden = h.client.liveQuery({
      query: OrdersDocument,
      variables: { companyId: 'someone-else' },
      pokes: OrdersChangedDocument,
      pokeVariables: { companyId: 'someone-else' },
    });
    const { updates } = watch(h);
    await waitFor('the refusal', () => forbidden.status === 'failed');
    expect(forbidden.error).toBeInstanceOf(OperationError);
    expect(forbidden.stats).toMatchObject({ pokes: 0 });
    expect((forbidden.error as OperationError).errors[0]?.extensions?.['code']).toBe('FORBIDDEN');
    await waitFor('the other live query', () => updates.length === 1);
    expect(h.client.status).toBe('connected');
  });

  it('sends mutations over the connection, and rejects GraphQL errors with OperationError', async () => {
    const h = await harness();
    const before = await metric(service.httpUrl, 'pokegate_receivers');
    const { updates } = watch(h, ordersFresh);
    // A subscriber counted is one the broker routes to (interest routing binds its company first).
    await waitFor(
      'the subscription counted',
      async () => (await metric(service.httpUrl, 'pokegate_receivers')) > before,
    );
    const receipt = await h.client.request(PlaceOrderDocument, { companyId: h.companyId, total: 12.5 });
    expect(receipt.placeOrder.version).toBe(1);
    await waitFor('the order to show', () => updates.at(-1)?.ids.includes(receipt.placeOrder.orderId));
    const refused = h.client.request(PlaceOrderDocument, { companyId: 'someone-else', total: 1 });
    await expect(refused).rejects.toBeInstanceOf(OperationError);
    await expect(refused).rejects.toThrow(/Forbidden/);
  });

  it('dispose closes the socket and the subscription on the server, and nothing runs after it', async () => {
    const h = await harness();
    const before = await metric(service.httpUrl, 'pokegate_receivers');
    const { live, updates, statuses } = watch(h);
    await waitFor('the first result', () => updates.length === 1);
    expect(await metric(service.httpUrl, 'pokegate_receivers')).toBe(before + 1);

    await h.client.dispose();
    expect(h.recorder.sockets.map((socket) => socket.readyState)).toEqual([h.recorder.WebSocket.CLOSED]);
    expect(live.status).toBe('disposed');
    expect(h.client.status).toBe('disposed');
    await waitFor(
      'the receiver to close on the server',
      async () => (await metric(service.httpUrl, 'pokegate_receivers')) === before,
    );
    expect(statuses).toEqual(['live', 'disposed']);
    expect(h.manual.pending).toBe(0);
  });

  it('dispose cancels a pending reconnection wait and opens no socket after it', async () => {
    const h = await harness();
    const { updates } = watch(h);
    await waitFor('the first result', () => updates.length === 1);
    h.recorder.dropAll();
    await waitFor('the reconnection wait', () => h.manual.pending === 1);

    await h.client.dispose();
    expect(h.manual.pending).toBe(0);
    await h.manual.advance(1_000);
    expect(h.recorder.sockets).toHaveLength(1);
    expect(h.recorder.sockets[0]?.readyState).toBe(h.recorder.WebSocket.CLOSED);
  });
});

/** The most queries ever awaiting their answer at once, from the messages as the client saw them. */
function maxInFlight(frames: readonly Frame[]): number {
  const open = new Set<string>();
  let max = 0;
  for (const frame of frames) {
    if (frame.kind !== 'query' || frame.message.id === undefined) continue;
    if (frame.direction === 'out' && frame.message.type === 'subscribe') open.add(frame.message.id);
    if (frame.direction === 'in' && frame.message.type === 'complete') open.delete(frame.message.id);
    max = Math.max(max, open.size);
  }
  return max;
}
