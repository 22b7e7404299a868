import { parse } from 'graphql';
import { createPubSub, createSchema } from 'graphql-yoga';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createLiveClient, type LiveClient, type LiveQueryUpdate, type RenewalEvent } from 'pokegate/client';
import type { TypedDocumentNode } from '../../src/client/document.js';
import { renewalDelayMs, tokenExpiry, tokenLifeLeftMs } from '../../src/client/session-renewal.js';
import { ManualClock } from '../utils/manual-clock.js';
import { startGraphQLWsServer } from '../utils/graphql-ws-server.js';
import { waitFor } from '../utils/wait-for.js';

const query = parse('query { version }') as TypedDocumentNode<{ version: number }, Record<string, never>>;
const pokes = parse('subscription { changed }') as TypedDocumentNode<
  { changed: number },
  Record<string, never>
>;

/** An unsigned JWT whose `exp` is `expiresAt` (epoch ms): the client reads it without verifying. */
function jwt(name: string, expiresAt: number): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ sub: 'tester', name, exp: Math.floor(expiresAt / 1_000) })}.sig`;
}

/**
 * A graphql-ws server of its own: it records every `connection_init` token and
 * every `refreshSession` token, and refuses renewals while told to.
 */
async function startServer() {
  const pubsub = createPubSub<{ poke: [number] }>();
  const connections: string[] = [];
  const refreshes: string[] = [];
  let refuse = false;
  const schema = createSchema({
    typeDefs: /* GraphQL */ `
      type Session {
        expiresAt: String!
      }
      type Query {
        version: Int!
      }
      type Mutation {
        refreshSession(token: String!): Session!
      }
      type Subscription {
        changed: Int!
      }
    `,
    resolvers: {
      Query: { version: () => refreshes.length },
      Mutation: {
        refreshSession: (_: unknown, { token }: { token: string }) => {
          if (refuse) throw new Error('refused');
          refreshes.push(token);
          return { expiresAt: new Date(tokenExpiry(token) ?? 0).toISOString() };
        },
      },
      Subscription: { changed: { subscribe: () => pubsub.subscribe('poke'), resolve: (n: unknown) => n } },
    },
  });
  const server = await startGraphQLWsServer({
    schema,
    onConnect: (ctx) => {
      connections.push(String(ctx.connectionParams?.['authorization']).replace('Bearer ', ''));
      return true;
    },
  });
  return {
    url: server.url,
    connections,
    refreshes,
    refuseRenewals: (value: boolean) => {
      refuse = value;
    },
    close: () => server.close(),
  };
}

describe('the live client renews its token in place', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  /** A client on a manual clock whose `getToken` hands out tokens of 60 s, named t1, t2, … */
  async function connect(options: { random: () => number; failAt?: number }) {
    const server = await startServer();
    closers.push(() => server.close());
    const clock = new ManualClock();
    let issued = 0;
    const renewals: RenewalEvent[] = [];
    const client: LiveClient = createLiveClient({
      url: server.url,
      webSocketImpl: WebSocket,
      clock,
      random: options.random,
      getToken: () => {
        issued++;
        if (issued === options.failAt) throw new Error('the identity provider is down');
        return jwt(`t${issued}`, clock.now() + 60_000);
      },
      onRenewal: (event) => renewals.push(event),
    });
    closers.push(() => client.dispose());
    const updates: LiveQueryUpdate['reason'][] = [];
    const live = client.liveQuery({
      query,
      variables: {},
      pokes,
      pokeVariables: {},
      onData: (_data, update) => updates.push(update.reason),
    });
    await waitFor('the first fetch', () => updates.length === 1);
    // The renewal's wait has started.
    await waitFor('the renewal wait', () => clock.pending === 1);
    return { server, clock, client, live, updates, renewals };
  }

  const name = (token: string | undefined): unknown =>
    (JSON.parse(Buffer.from(token?.split('.')[1] ?? '', 'base64url').toString()) as { name: string }).name;

  it('renews the margin before expiry, less the jitter, over the same connection, with no refetch', async () => {
    // 60 s tokens renew a quarter of their life (15 s, under the 30 s margin) before
    // expiry, less jitter 0.2 at random 0.5: 40.5 s after each token was issued.
    const { server, clock, live, updates, renewals } = await connect({ random: () => 0.5 });
    await clock.advance(40_499);
    expect(server.refreshes).toEqual([]);
    await clock.advance(1);
    await waitFor('the first renewal', () => server.refreshes.length === 1);
    expect(name(server.refreshes[0])).toBe('t2');
    await waitFor('the next renewal wait', () => clock.pending === 1);
    await clock.advance(40_500);
    await waitFor('the second renewal', () => server.refreshes.length === 2);
    expect(name(server.refreshes[1])).toBe('t3');
    expect(server.connections.map(name)).toEqual(['t1']);
    expect(updates).toEqual(['connected']);
    expect(live.stats.fetches).toBe(1);
    expect(live.status).toBe('live');
    expect(renewals.map((event) => event.outcome)).toEqual(['renewed', 'renewed']);
  });

  it('spreads the renewals of clients that connected together by their jitter', async () => {
    const early = await connect({ random: () => 0.99 });
    const late = await connect({ random: () => 0 });
    // 45 s × (1 − 0.2 × 0.99) = 36,090 ms; 45 s × (1 − 0) = 45,000 ms.
    await early.clock.advance(36_089);
    await late.clock.advance(44_999);
    expect([early.server.refreshes.length, late.server.refreshes.length]).toEqual([0, 0]);
    await early.clock.advance(1);
    await late.clock.advance(1);
    await waitFor('both renewals', () => early.server.refreshes.length + late.server.refreshes.length === 2);
  });

  it('reconnects with a new token when getToken throws at renewal time', async () => {
    const { server, clock, updates, renewals } = await connect({ random: () => 0.5, failAt: 2 });
    await clock.advance(40_500);
    await waitFor('the failed renewal', () => renewals.length === 1);
    expect(renewals[0]).toMatchObject({
      outcome: 'failed',
      error: { message: 'the identity provider is down' },
    });
    // The reconnection's backoff wait, then the next connection with the next token.
    await waitFor('the reconnection wait', () => clock.pending === 1);
    await clock.advance(15_000);
    await waitFor('the refetch after reconnecting', () => updates.length === 2);
    expect(server.connections.map(name)).toEqual(['t1', 't3']);
    expect(server.refreshes).toEqual([]);
    expect(updates).toEqual(['connected', 'reconnected']);
  });

  it('reconnects when the server refuses the renewal', async () => {
    const { server, clock, updates, renewals } = await connect({ random: () => 0.5 });
    server.refuseRenewals(true);
    await clock.advance(40_500);
    await waitFor('the refused renewal', () => renewals.length === 1);
    expect(renewals[0]?.outcome).toBe('failed');
    await waitFor('the reconnection wait', () => clock.pending === 1);
    await clock.advance(15_000);
    await waitFor('the refetch after reconnecting', () => updates.length === 2);
    expect(server.connections.map(name)).toEqual(['t1', 't3']);
  });

  it('validates its renewal options eagerly', () => {
    const base = { url: 'ws://127.0.0.1:1/graphql', webSocketImpl: WebSocket };
    expect(() => createLiveClient({ ...base, getToken: 'token' as never })).toThrow(/`getToken`/);
    expect(() => createLiveClient({ ...base, getToken: () => '', renewal: { jitter: 2 } })).toThrow(
      /`renewal.jitter`/,
    );
    expect(() => createLiveClient({ ...base, getToken: () => '', renewal: { marginMs: -1 } })).toThrow(
      /`renewal.marginMs`/,
    );
    expect(() =>
      createLiveClient({ ...base, getToken: () => '', renewal: { mutation: 'mutation { x }' } }),
    ).toThrow(/`renewal.mutation`/);
  });

  it('renews a short token at three quarters of its life, a long one the margin before, and never one without exp', () => {
    const settings = { marginMs: 30_000, jitter: 0, random: () => 0.5 };
    expect(renewalDelayMs(60_000, settings)).toBe(45_000);
    expect(renewalDelayMs(600_000, settings)).toBe(570_000);
    // A client clock 20 s behind the issuer's: the token's own life (exp − iat) counts.
    const issuedAt = 1_700_000_000;
    const token = `h.${Buffer.from(JSON.stringify({ iat: issuedAt, exp: issuedAt + 60 })).toString('base64url')}.s`;
    expect(tokenLifeLeftMs(token, issuedAt * 1_000 - 20_000)).toBe(60_000);
    expect(tokenLifeLeftMs(token, issuedAt * 1_000 + 10_000)).toBe(50_000);
    expect(tokenExpiry(jwt('t', 1_700_000_060_000))).toBe(1_700_000_060_000);
    expect(tokenExpiry('not.a-jwt')).toBeUndefined();
    expect(tokenExpiry('opaque')).toBeUndefined();
  });
});
