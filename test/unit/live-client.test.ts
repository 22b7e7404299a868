import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ordersFresh } from '../../src/service/demo/freshness.js';
import { OrdersChangedDocument, OrdersDocument } from '../../src/service/generated/operations.js';
import { createLiveClient, type LiveClient, type LiveClientOptions } from 'pokegate/client';
import { DisposedError } from 'pokegate';
import { ManualClock } from '../utils/manual-clock.js';
import { waitFor } from '../utils/wait-for.js';

/** Nothing listens there: every attempt fails at once. */
const unreachable = 'ws://127.0.0.1:1/graphql';

describe('createLiveClient', () => {
  const clients: LiveClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.dispose();
  });

  function open(options: Partial<LiveClientOptions> = {}): { client: LiveClient; clock: ManualClock } {
    const clock = new ManualClock();
    const client = createLiveClient({ url: unreachable, webSocketImpl: WebSocket, clock, ...options });
    clients.push(client);
    return { client, clock };
  }

  it('validates its options eagerly, with a TypeError that names the option', () => {
    expect(() => createLiveClient({ url: 42 as never })).toThrow(/`url`/);
    expect(() => createLiveClient({ url: unreachable, webSocketImpl: 'ws' as never })).toThrow(
      /`webSocketImpl`/,
    );
    expect(() => createLiveClient({ url: unreachable, retry: { jitter: 2 } })).toThrow(/`retry.jitter`/);
    expect(() => createLiveClient({ url: unreachable, retry: { minDelayMs: -1 } })).toThrow(TypeError);
    expect(() => createLiveClient({ url: unreachable, connectionAckTimeoutMs: 1.5 })).toThrow(
      /`connectionAckTimeoutMs`/,
    );
    expect(() => createLiveClient({ url: unreachable, shouldRetry: true as never })).toThrow(/`shouldRetry`/);
  });

  it('validates a live query’s options when it is made', () => {
    const { client } = open();
    const base = {
      query: OrdersDocument,
      variables: { companyId: 'c1' },
      pokes: OrdersChangedDocument,
      pokeVariables: { companyId: 'c1' },
    };
    expect(() => client.liveQuery({ ...base, maxHeldResults: -1 })).toThrow(/`maxHeldResults`/);
    expect(() => client.liveQuery({ ...base, isFresh: 'yes' as never })).toThrow(/`isFresh`/);
    expect(() => client.liveQuery({ ...base, onPoke: 'yes' as never })).toThrow(/`onPoke`/);
  });

  it('lets whenLive wait until the live query is live, and rejects it on dispose or on its signal', async () => {
    const { client } = open();
    const live = client.liveQuery({
      query: OrdersDocument,
      variables: { companyId: 'c1' },
      pokes: OrdersChangedDocument,
      pokeVariables: { companyId: 'c1' },
    });
    const controller = new AbortController();
    const given = live.whenLive({ signal: controller.signal });
    const waiting = live.whenLive();
    controller.abort(new Error('the user gave up'));
    await expect(given).rejects.toThrow('the user gave up');
    live.dispose();
    await expect(waiting).rejects.toBeInstanceOf(DisposedError);
    await expect(live.whenLive()).rejects.toBeInstanceOf(DisposedError);
  });

  it('retries an unreachable server after a wait, and a dispose cancels that wait', async () => {
    const { client, clock } = open();
    await waitFor('the first wait', () => clock.pending === 1);
    expect(client.status).toBe('connecting');
    await client.dispose();
    expect(clock.pending).toBe(0);
    expect(client.status).toBe('disposed');
    await expect(client.request(OrdersDocument, { companyId: 'c1' })).rejects.toBeInstanceOf(DisposedError);
    expect(() =>
      client.liveQuery({
        query: OrdersDocument,
        variables: { companyId: 'c1' },
        pokes: OrdersChangedDocument,
        pokeVariables: { companyId: 'c1' },
      }),
    ).toThrow(DisposedError);
  });

  it('lets a request wait for a connection until its signal aborts', async () => {
    const { client } = open();
    const controller = new AbortController();
    const request = client.request(OrdersDocument, { companyId: 'c1' }, { signal: controller.signal });
    controller.abort(new Error('the user navigated away'));
    await expect(request).rejects.toThrow('the user navigated away');
  });

  it('disposes when its signal aborts, and so do its live queries', async () => {
    const controller = new AbortController();
    const { client } = open({ signal: controller.signal });
    const live = client.liveQuery({
      query: OrdersDocument,
      variables: { companyId: 'c1' },
      pokes: OrdersChangedDocument,
      pokeVariables: { companyId: 'c1' },
    });
    expect(live.status).toBe('connecting');
    controller.abort();
    await waitFor('the dispose', () => client.status === 'disposed');
    expect(live.status).toBe('disposed');
  });
});

describe('ordersFresh (the demo page’s freshness check)', () => {
  const data = {
    orders: [
      {
        id: 'o1',
        companyId: 'c1',
        status: 'PAID',
        total: 1,
        version: 2,
        updatedAt: '2026-01-01T00:00:00.000Z',
      },
    ],
  } as const;
  const poke = (orderId: string | null, version: number | null, removed = false) => ({
    ordersChanged: { companyId: 'c1', orderId, removed, version, token: null },
  });

  it('is fresh when the poked order shows at the poked version or newer', () => {
    expect(ordersFresh(poke('o1', 1), data)).toBe(true);
    expect(ordersFresh(poke('o1', 2), data)).toBe(true);
    expect(ordersFresh(poke('o1', 3), data)).toBe(false);
    expect(ordersFresh(poke('o2', 1), data)).toBe(false);
  });

  it('is fresh for a removal once the order is gone', () => {
    expect(ordersFresh(poke('o1', 3, true), data)).toBe(false);
    expect(ordersFresh(poke('o2', 3, true), data)).toBe(true);
  });

  it('is never fresh for a resync poke', () => {
    expect(ordersFresh(poke(null, null), data)).toBe(false);
    expect(ordersFresh(poke(null, null), { orders: [] })).toBe(false);
  });
});
