// Server B, what teams hand-roll today: graphql-yoga + graphql-ws, yoga's
// `createPubSub`, and the visibility check done per subscriber in the
// subscription's `filter` (one read-view query per event and subscriber).
// Each event is written to its own read view on PostgreSQL before it is
// published, so every check finds it visible.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createPubSub, createSchema, createYoga, filter, pipe } from 'graphql-yoga';
import { jwtVerify } from 'jose';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EnvelopedServer } from '../../src/graphql/enveloped-server.js';
import { serveParent } from './ipc.js';
import { controlPath, processStats, type ControlMessage, type Poke, type ServerStats } from './workload.js';

const databaseUrl = process.env['DATABASE_URL'];
const secret = process.env['AUTH_SECRET'];
if (databaseUrl === undefined || secret === undefined)
  throw new Error('DATABASE_URL and AUTH_SECRET are required');
const key = new TextEncoder().encode(secret);
const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
await pool.query(`CREATE TABLE IF NOT EXISTS orders (
  id text PRIMARY KEY, company_id text NOT NULL, version integer NOT NULL, removed boolean NOT NULL DEFAULT false)`);

const pubSub = createPubSub<{ ordersChanged: [companyId: string, poke: Poke] }>();
/** Companies ever subscribed to: the targets of a resync. */
const companies = new Set<string>();
let checks = 0;

async function visible(poke: Poke): Promise<boolean> {
  if (poke.orderId === null || poke.version === null) return true; // a resync: nothing to check
  checks++;
  const { rows } = await pool.query<{ version: number; removed: boolean }>(
    'SELECT version, removed FROM orders WHERE id = $1',
    [poke.orderId],
  );
  const row = rows[0];
  return row !== undefined && row.version >= poke.version;
}

const yoga = createYoga({
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      type Query {
        ok: Boolean!
      }
      type OrderChange {
        companyId: ID!
        orderId: ID
        removed: Boolean!
        version: Int
      }
      type Subscription {
        ordersChanged(companyId: ID!): OrderChange!
      }
    `,
    resolvers: {
      Query: { ok: () => true },
      Subscription: {
        ordersChanged: {
          subscribe: (_: unknown, { companyId }: { companyId: string }) => {
            companies.add(companyId);
            return pipe(pubSub.subscribe('ordersChanged', companyId), filter(visible));
          },
          resolve: (poke: Poke) => poke,
        },
      },
    },
  }),
  graphqlEndpoint: '/graphql',
  logging: false,
});

/** yoga, typed as far as graphql-ws needs it. */
const enveloped: EnvelopedServer = yoga;

interface Enveloped {
  readonly execute: (args: ExecutionArgs) => unknown;
  readonly subscribe: (args: ExecutionArgs) => unknown;
}

const server = createServer((request, response) => void yoga(request, response));
const graphqlSockets = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const controlSockets = new WebSocketServer({ noServer: true, perMessageDeflate: false });
/** graphql-ws's connection contexts, for counting the subscriptions open now. */
const contexts = new Set<{ readonly subscriptions: Record<string, unknown> }>();

// As in yoga's graphql-ws example: yoga's envelop executes every operation.
useServer(
  {
    execute: (args) => (args.rootValue as Enveloped).execute(args) as never,
    subscribe: (args) => (args.rootValue as Enveloped).subscribe(args) as never,
    // Like any real server, and like C: a JWT in connection_init, checked once per socket.
    onConnect: async (ctx) => {
      const authorization = ctx.connectionParams?.['authorization'];
      if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) return false;
      try {
        await jwtVerify(authorization.slice('Bearer '.length), key, { algorithms: ['HS256'] });
      } catch {
        return false;
      }
      contexts.add(ctx);
      return true;
    },
    onClose: (ctx) => {
      contexts.delete(ctx);
    },
    onSubscribe: async (ctx, _id, params) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = enveloped.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params,
      });
      const document = parse(params.query);
      const errors = validate(schema, document);
      if (errors.length > 0) return errors;
      return {
        schema,
        document,
        operationName: params.operationName ?? null,
        variableValues: params.variables ?? null,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe } satisfies Enveloped,
      };
    },
  },
  graphqlSockets,
);

/** The "projector" of this baseline: write the read view, then publish. */
function onControl(socket: WebSocket): void {
  socket.on('message', (data: Buffer) => {
    const { events } = JSON.parse(data.toString('utf8')) as ControlMessage;
    void (async () => {
      for (const { companyId, orderId, version } of events) {
        await pool.query(
          `INSERT INTO orders (id, company_id, version) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET version = GREATEST(orders.version, EXCLUDED.version)`,
          [orderId, companyId, version],
        );
        pubSub.publish('ordersChanged', companyId, { companyId, orderId, removed: false, version });
      }
    })();
  });
}

server.on('upgrade', (request, socket, head) => {
  const target = request.url === controlPath ? controlSockets : graphqlSockets;
  target.handleUpgrade(request, socket, head, (ws) => {
    if (target === controlSockets) onControl(ws);
    else target.emit('connection', ws, request);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

function openSubscriptions(): number {
  let open = 0;
  for (const { subscriptions } of contexts) {
    for (const id in subscriptions) if (subscriptions[id] !== null) open++;
  }
  return open;
}

serveParent(
  {
    stats: (request): ServerStats => ({
      ...processStats(request['gc'] === true),
      subscriptions: openSubscriptions(),
      checks,
    }),
    resync: () => {
      const startedAt = performance.timeOrigin + performance.now();
      for (const companyId of companies) {
        pubSub.publish('ordersChanged', companyId, {
          companyId,
          orderId: null,
          removed: false,
          version: null,
        });
      }
      return { startedAt };
    },
  },
  { port: (server.address() as AddressInfo).port },
  async () => {
    for (const client of [...graphqlSockets.clients, ...controlSockets.clients]) client.terminate();
    await new Promise((resolve) => server.close(resolve));
    await pool.end();
  },
);
