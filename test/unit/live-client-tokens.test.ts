import { Kind, OperationTypeNode, parse } from 'graphql';
import { createPubSub, createSchema } from 'graphql-yoga';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createLiveClient, type LiveClient, type LiveQueryUpdate } from 'pokegate/client';
import type { TypedDocumentNode } from '../../src/client/document.js';
import { startGraphQLWsServer } from '../utils/graphql-ws-server.js';
import { waitFor } from '../utils/wait-for.js';

interface Poke {
  readonly changed: { readonly id: string; readonly token: string | null };
}

const query = parse('query { version }') as TypedDocumentNode<{ version: number }, Record<string, never>>;
const pokes = parse('subscription { changed { id token } }') as TypedDocumentNode<
  Poke,
  Record<string, never>
>;

/**
 * A graphql-ws server of its own on a free port: a query that answers
 * `version`, a subscription whose events the test publishes, and the
 * `extensions` of every query it was sent.
 */
async function startServer() {
  const pubsub = createPubSub<{ poke: [Poke['changed']] }>();
  let version = 0;
  const schema = createSchema({
    typeDefs: /* GraphQL */ `
      type Change {
        id: ID!
        token: String
      }
      type Query {
        version: Int!
      }
      type Subscription {
        changed: Change!
      }
    `,
    resolvers: {
      Query: { version: () => version },
      Subscription: { changed: { subscribe: () => pubsub.subscribe('poke'), resolve: (c: unknown) => c } },
    },
  });
  const sent: unknown[] = [];
  /** Answers with tokens to mark stale, as a replica too far behind would. */
  let staleAnswers = 0;
  const server = await startGraphQLWsServer({
    schema,
    onSubscribe: (_ctx, _id, payload) => {
      if (isQuery(payload.query)) sent.push(payload.extensions);
    },
    // What a read-after server adds to an answer that waited for its tokens.
    onNext: (_ctx, _id, payload, _args, result) =>
      isQuery(payload.query) && payload.extensions !== undefined
        ? {
            data: result.data ?? null,
            extensions: {
              pokegate: staleAnswers-- > 0 ? { waitedMs: 2_000, stale: true } : { waitedMs: 3 },
            },
          }
        : undefined,
  });
  return {
    url: server.url,
    sent,
    markStale: (answers: number) => {
      staleAnswers = answers;
    },
    poke: (id: string, token: string | null) => {
      version++;
      pubsub.publish('poke', { id, token });
    },
    close: () => server.close(),
  };
}

function isQuery(source: string): boolean {
  return parse(source).definitions.some(
    (definition) =>
      definition.kind === Kind.OPERATION_DEFINITION && definition.operation === OperationTypeNode.QUERY,
  );
}

describe('the live client and read-after tokens', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function watch() {
    const server = await startServer();
    closers.push(() => server.close());
    const client: LiveClient = createLiveClient({ url: server.url, webSocketImpl: WebSocket });
    closers.push(() => client.dispose());
    const updates: { version: number; update: LiveQueryUpdate }[] = [];
    const live = client.liveQuery({
      query,
      variables: {},
      pokes,
      pokeVariables: {},
      onData: (data, update) => updates.push({ version: data.version, update }),
    });
    await waitFor('the first fetch', () => updates.length === 1);
    return { server, live, updates };
  }

  it('sends nothing extra on a fetch that follows no poke', async () => {
    const { server } = await watch();
    expect(server.sent).toEqual([undefined]);
  });

  it("sends each poke's token back with the refetch it causes, as extensions.pokegate.after", async () => {
    const { server, updates } = await watch();
    server.poke('o1', 'token-1');
    await waitFor('the refetch', () => updates.length === 2);
    expect(server.sent[1]).toEqual({ pokegate: { after: ['token-1'] } });
    // The answer's extensions reach the caller, e.g. how long the server waited.
    expect(updates[1]?.update).toEqual({ reason: 'poke', extensions: { pokegate: { waitedMs: 3 } } });
    server.poke('o2', 'token-2');
    await waitFor('the next refetch', () => updates.length === 3);
    // A token goes with one answered fetch only: the first is covered by now.
    expect(server.sent[2]).toEqual({ pokegate: { after: ['token-2'] } });
  });

  it('sends every token of the pokes that queued behind a running fetch', async () => {
    const { server, live } = await watch();
    for (let n = 1; n <= 5; n++) server.poke(`o${n}`, `token-${n}`);
    await waitFor('every poke', () => live.stats.pokes === 5);
    await waitFor('the refetches', () => live.data?.version === 5);
    const after = server.sent.slice(1).flatMap((extensions) => {
      const tokens = (extensions as { pokegate: { after: string[] } }).pokegate.after;
      return tokens;
    });
    expect(after).toEqual(['token-1', 'token-2', 'token-3', 'token-4', 'token-5']);
  });

  it('shows an answer marked stale, and fetches again with the same tokens, 3 times in a row at most', async () => {
    const { server, live, updates } = await watch();
    server.markStale(10);
    server.poke('o1', 'token-1');
    await waitFor('the refetches', () => live.stats.stale === 4);
    expect(server.sent.slice(1)).toEqual(Array(4).fill({ pokegate: { after: ['token-1'] } }));
    expect(updates.slice(1).map(({ update }) => update.extensions)).toEqual(
      Array(4).fill({ pokegate: { waitedMs: 2_000, stale: true } }),
    );
    // Then it waits for the next poke.
    expect(live.stats.fetches).toBe(5);
    server.markStale(0);
    server.poke('o2', 'token-2');
    await waitFor('the next refetch', () => updates.length === 6);
    expect(server.sent[5]).toEqual({ pokegate: { after: ['token-2'] } });
  });

  it('sends no token for a poke without one (a resync poke)', async () => {
    const { server, updates } = await watch();
    server.poke('o1', null);
    await waitFor('the refetch', () => updates.length === 2);
    expect(server.sent[1]).toBeUndefined();
  });
});
