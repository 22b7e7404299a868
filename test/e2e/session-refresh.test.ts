import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { createLiveClient, OperationError } from 'pokegate/client';
import { watchOrders } from '../utils/live-orders.js';
import { ManualClock } from '../utils/manual-clock.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../utils/app.js';
import {
  ordersChangedSubscription,
  placeOrder as placeOrderOver,
  query,
  token,
} from '../utils/graphql-client.js';
import { openRawSocket, type RawSocket, type WsMessage } from '../utils/raw-socket.js';
import { metric } from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';

const refresh = 'mutation ($token: String!) { refreshSession(token: $token) { expiresAt companies admin } }';

interface Poke {
  readonly ordersChanged: { readonly orderId: string | null };
}

function pokedOrders(messages: readonly WsMessage[]): (string | null)[] {
  return messages
    .filter((message) => message.type === 'next')
    .map((message) => (message.payload as { data?: Poke }).data?.ordersChanged.orderId ?? null);
}

/**
 * A subscription's messages without the resync poke it gets first when its
 * company had no binding on the replica yet (the one before its first
 * subscriber); it may be gone with a subscription ended before it was sent.
 */
function afterBindingResync(messages: readonly WsMessage[]): readonly WsMessage[] {
  const [first, ...rest] = messages;
  const poke = first?.type === 'next' ? (first.payload as { data?: Poke }).data?.ordersChanged : undefined;
  return poke?.orderId === null ? rest : messages;
}

describe('sessions that outlive their first token', () => {
  let service: TestApp;
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    service = await startTestApp({
      RATE_LIMIT_CONNECTION_PER_SEC: '5',
      RATE_LIMIT_CONNECTION_BURST: '10',
      RATE_LIMIT_CLOSE_AFTER: '5',
    });
  }, 60_000);

  afterAll(async () => {
    for (const socket of sockets) await socket.close();
    // Every subscription ended, renewed or not: the registry holds no receiver.
    await waitFor(
      'no receivers left',
      async () => (await metric(service.httpUrl, 'pokegate_receivers')) === 0,
    );
    const errors = service.logs.filter((log) => (log['level'] as number) >= 50);
    await service.stop();
    expect(errors).toEqual([]);
  }, 60_000);

  async function connect(jwt: string): Promise<RawSocket> {
    const socket = await openRawSocket(service.wsUrl, `Bearer ${jwt}`);
    sockets.push(socket);
    return socket;
  }

  /** Subscribes `id` to `companyId` and resolves once the service counts the receiver. */
  async function subscribe(socket: RawSocket, id: string, companyId: string): Promise<void> {
    const before = await metric(service.httpUrl, 'pokegate_receivers');
    socket.send(id, ordersChangedSubscription, { companyId });
    await waitFor(
      'the subscription',
      async () => (await metric(service.httpUrl, 'pokegate_receivers')) > before,
    );
  }

  async function placeOrder(companyId: string): Promise<string> {
    return placeOrderOver(service.httpUrl, await token({ sub: 'writer', companies: [companyId] }), companyId);
  }

  const refreshes = (outcome: string): Promise<number> =>
    metric(service.httpUrl, 'pokegate_session_refresh_total', { outcome });

  it('keeps a connection open past its first token’s expiry after a renewal, and its pokes still arrive', async () => {
    const renewedBefore = await refreshes('renewed');
    const first = await token({ sub: 'alice', companies: ['c1'], expiresInSec: 3 });
    const socket = await connect(first);
    await subscribe(socket, 'pokes', 'c1');
    const firstExpiry = JSON.parse(Buffer.from(first.split('.')[1] ?? '', 'base64url').toString()) as {
      exp: number;
    };
    socket.send('renew', refresh, {
      token: await token({ sub: 'alice', companies: ['c1'], expiresInSec: 120 }),
    });
    const answer = await socket.next('renew');
    const session = (
      answer.payload as { data: { refreshSession: { expiresAt: string; companies: string[] } } }
    ).data.refreshSession;
    expect(session.companies).toEqual(['c1']);
    expect(Date.parse(session.expiresAt)).toBeGreaterThan(firstExpiry.exp * 1_000 + 60_000);
    await waitFor('the first token’s expiry to pass', () => Date.now() > firstExpiry.exp * 1_000 + 500, {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    const orderId = await placeOrder('c1');
    await waitFor('the poke after the first token expired', () =>
      pokedOrders(socket.of('pokes')).includes(orderId),
    );
    expect(socket.of('pokes').every((message) => message.type === 'next')).toBe(true);
    expect(await refreshes('renewed')).toBe(renewedBefore + 1);
  });

  it('ends only the subscription of the company a narrowed token drops, with FORBIDDEN then complete', async () => {
    const narrowedBefore = await refreshes('narrowed');
    const socket = await connect(await token({ sub: 'bob', companies: ['c1', 'c2'] }));
    await subscribe(socket, 'kept', 'c1');
    await subscribe(socket, 'dropped', 'c2');
    const receivers = await metric(service.httpUrl, 'pokegate_receivers');
    socket.send('renew', refresh, { token: await token({ sub: 'bob', companies: ['c1'] }) });
    const answer = await socket.next('renew');
    expect(answer.payload).toMatchObject({ data: { refreshSession: { companies: ['c1'], admin: false } } });
    await socket.next('dropped', 'complete');
    expect(afterBindingResync(socket.of('dropped'))).toEqual([
      {
        id: 'dropped',
        type: 'next',
        payload: {
          errors: [
            {
              message: 'Forbidden: the renewed session does not allow this subscription',
              extensions: { code: 'FORBIDDEN' },
            },
          ],
        },
      },
      { id: 'dropped', type: 'complete' },
    ]);
    await waitFor(
      'the dropped receiver to close',
      async () => (await metric(service.httpUrl, 'pokegate_receivers')) === receivers - 1,
    );
    const orderId = await placeOrder('c1');
    await waitFor('the kept subscription’s poke', () => pokedOrders(socket.of('kept')).includes(orderId));
    expect(pokedOrders(afterBindingResync(socket.of('kept'))).every((id) => id !== null)).toBe(true);
    expect(await refreshes('narrowed')).toBe(narrowedBefore + 1);
  });

  it('closes the connection with 4403 for another sub, a forged token and an expired token', async () => {
    const rejectedBefore = await refreshes('rejected');
    const forged = await new SignJWT({ companies: ['c1'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('carol')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another secret of at least thirty-two bytes'));
    const refused = [
      await token({ sub: 'mallory', companies: ['c1'] }),
      forged,
      await token({ sub: 'carol', companies: ['c1'], expiresInSec: -10 }),
    ];
    for (const jwt of refused) {
      const socket = await connect(await token({ sub: 'carol', companies: ['c1'] }));
      await subscribe(socket, 'pokes', 'c1');
      socket.send('renew', refresh, { token: jwt });
      expect((await socket.closed).code).toBe(4403);
    }
    expect(await refreshes('rejected')).toBe(rejectedBefore + 3);
  });

  it('answers BAD_REQUEST over HTTP, where there is no connection to renew', async () => {
    const jwt = await token({ sub: 'dave', companies: ['c1'] });
    const response = await query(service.httpUrl, jwt, refresh, { token: jwt });
    expect(response.status).toBe(200);
    expect(response.body.data).toBeNull();
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('loses neither a renewal nor a poke that race each other', async () => {
    const socket = await connect(await token({ sub: 'erin', companies: ['c3'] }));
    await subscribe(socket, 'pokes', 'c3');
    const orders: string[] = [];
    for (let round = 0; round < 8; round++) {
      const renewal = token({ sub: 'erin', companies: ['c3'], expiresInSec: 300 + round }).then((jwt) =>
        socket.send(`renew-${round}`, refresh, { token: jwt }),
      );
      // Half the rounds write first, half renew first; both are in flight together.
      const written =
        round % 2 === 0
          ? Promise.all([placeOrder('c3'), renewal]).then(([orderId]) => orderId)
          : renewal.then(() => placeOrder('c3'));
      orders.push(await written);
    }
    for (let round = 0; round < 8; round++) {
      const answer = await socket.next(`renew-${round}`);
      expect(answer.payload).toMatchObject({ data: { refreshSession: { companies: ['c3'] } } });
    }
    await waitFor('every poke', () =>
      orders.every((orderId) => pokedOrders(socket.of('pokes')).includes(orderId)),
    );
    expect(socket.of('pokes').every((message) => message.type === 'next')).toBe(true);
  });

  it('fails only the live query a narrowed renewal ends, in a client whose getToken renews by itself', async () => {
    const clock = new ManualClock(Date.now());
    let companies = ['c4', 'c5'];
    const client = createLiveClient({
      url: service.wsUrl,
      webSocketImpl: WebSocket,
      clock,
      getToken: () => token({ sub: 'judy', companies, expiresInSec: 120 }),
    });
    try {
      const receivers = await metric(service.httpUrl, 'pokegate_receivers');
      const kept = watchOrders(client, 'c4');
      const dropped = watchOrders(client, 'c5');
      await waitFor('both live queries', () => kept.live.status === 'live' && dropped.live.status === 'live');
      // A subscriber counted is one the broker routes to (interest routing binds its company first).
      await waitFor(
        'both subscriptions counted',
        async () => (await metric(service.httpUrl, 'pokegate_receivers')) >= receivers + 2,
      );
      await waitFor('the renewal wait', () => clock.pending === 1);
      const narrowedBefore = await refreshes('narrowed');
      companies = ['c4'];
      // A 120 s token renews a tenth of its life (12 s) before its expiry at the latest.
      await clock.advance(108_000);
      await waitFor('the narrowed live query to fail', () => dropped.live.status === 'failed');
      expect(dropped.live.error).toBeInstanceOf(OperationError);
      expect((dropped.live.error as OperationError).errors[0]?.extensions?.['code']).toBe('FORBIDDEN');
      expect(await refreshes('narrowed')).toBe(narrowedBefore + 1);
      await placeOrder('c4');
      await waitFor('the kept live query’s refetch', () => kept.updates.some((u) => u.reason === 'poke'));
      expect(kept.live.status).toBe('live');
      expect(kept.errors).toEqual([]);
      expect(kept.updates.map((u) => u.reason)).not.toContain('reconnected');
      expect(client.status).toBe('connected');
    } finally {
      await client.dispose();
    }
  });

  describe('bad input', () => {
    it('closes with 4403 for a malformed token and a token past the credential limit', async () => {
      for (const bad of ['not-a-jwt', 'two words', 'x'.repeat(20_000)]) {
        const socket = await connect(await token({ sub: 'frank', companies: ['c1'] }));
        socket.send('renew', refresh, { token: bad });
        expect(await socket.closed).toEqual({ code: 4403, reason: 'Forbidden' });
      }
    });

    it('closes with 1009 for a 1 MB token over WebSocket, and answers 413 over HTTP', async () => {
      const huge = 'x'.repeat(1_048_576);
      const socket = await connect(await token({ sub: 'grace', companies: ['c1'] }));
      socket.send('renew', refresh, { token: huge });
      expect((await socket.closed).code).toBe(1009);
      const response = await fetch(`${service.httpUrl}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await token({ sub: 'grace', companies: ['c1'] })}`,
        },
        body: JSON.stringify({ query: refresh, variables: { token: huge } }),
      });
      expect(response.status).toBe(413);
    });

    it('refuses a renewal over the cost limits like any operation, and keeps the connection', async () => {
      const socket = await connect(await token({ sub: 'ivan', companies: ['c1'] }));
      const aliases = Array.from({ length: 25 }, (_, i) => `r${i}: refreshSession(token: $token) { admin }`);
      socket.send('many', `mutation ($token: String!) { ${aliases.join(' ')} }`, { token: 'x' });
      const refused = await socket.next('many', 'error');
      expect(JSON.stringify(refused.payload)).toContain('"OPERATION_LIMIT"');
      socket.send('renew', refresh, { token: await token({ sub: 'ivan', companies: ['c1'] }) });
      expect((await socket.next('renew')).payload).toMatchObject({
        data: { refreshSession: { admin: false } },
      });
    });

    it('answers a flood of renewals with the connection’s rate limit, then closes it with 1008', async () => {
      const jwt = await token({ sub: 'heidi', companies: ['c1'] });
      const socket = await connect(jwt);
      for (let i = 0; i < 40; i++) socket.send(`renew-${i}`, refresh, { token: jwt });
      expect(await socket.closed).toEqual({ code: 1008, reason: 'Rate limit exceeded' });
      const limited = socket.messages.filter(
        (message) => message.type === 'error' && JSON.stringify(message.payload).includes('"RATE_LIMITED"'),
      );
      expect(limited.length).toBeGreaterThanOrEqual(5);
      // The ones admitted renewed the session.
      expect(socket.messages.filter((message) => message.type === 'next').length).toBeLessThanOrEqual(10);
    });
  });
});
