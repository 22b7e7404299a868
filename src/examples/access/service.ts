import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { jwtVerify } from 'jose';
import {
  createEventParser,
  createGate,
  createRegistry,
  resyncTarget,
  route,
  routeAddressed,
  silentLogger,
  toError,
  WILDCARD,
  type Logger,
  type Mapper,
  type ProjectionResult,
  type Registry,
} from 'pokegate';
import { createAmqpProjector, createAmqpTransientConsumer } from 'pokegate/amqp';
import { attachWebSocket, useSharedSubscriptionExecution, type ConnectionPrincipal } from 'pokegate/graphql';
import {
  accessBindingKey,
  accessEventSchema,
  accessSharedBindingKey,
  userBindingKeys,
  type AccessEvent,
} from './events.js';
import { createAccessReadView, type AccessReadView } from './read-view.js';

/** The poke of `Subscription.availableCompanies`: "refetch `availableCompanies`". */
export interface AccessChange {
  readonly userId: string | null;
  readonly companyId: string | null;
  readonly version: number | null;
}

/** "Refetch everything of `userId`": after a gap, or once a new binding routes to the user. */
function resyncPoke(userId: string): AccessChange {
  return { userId, companyId: null, version: null };
}

export interface AccessServiceOptions {
  readonly amqpUrl: string;
  readonly databaseUrl: string;
  /** HS256 secret of the tokens: `sub` is the user id, `admin: true` an admin. */
  readonly authSecret: string;
  /** @default 'access.events' */
  readonly exchange?: string;
  /** The PostgreSQL schema of the read view. @default 'access' */
  readonly schema?: string;
  /** @default 0 — any free port */
  readonly port?: number;
  /** @default silentLogger */
  readonly logger?: Logger;
}

/**
 * The mapper: a membership event pokes its user (key = user id); a company
 * event pokes every member of the company. Each producer is the visibility
 * check: it answers only once the event's version is in the read view, and
 * the company's members are read in that same query, once per event.
 */
export function createAccessMapper(
  registry: Registry<AccessChange>,
  view: AccessReadView,
): Mapper<AccessEvent> {
  return (event) => {
    const { version } = event;
    const occurredAt = Date.parse(event.occurredAt);
    if (event.type === 'MemberAdded' || event.type === 'MemberRemoved') {
      const { userId, companyId } = event;
      return [
        route(
          registry,
          userId,
          async () =>
            (await view.membershipVersion(userId, companyId)) >= version
              ? { userId, companyId, version }
              : undefined,
          { occurredAt },
        ),
      ];
    }
    const { companyId } = event;
    return [
      routeAddressed(
        registry,
        async () => {
          const company = await view.companyMembers(companyId);
          if (company === null || company.version < version) return undefined;
          return { keys: company.members, value: { userId: null, companyId, version } };
        },
        { occurredAt },
      ),
    ];
  };
}

/** The user (the token's `sub`) and whether they are an admin. */
interface Principal extends ConnectionPrincipal {
  readonly admin: boolean;
}

/** Example-grade authentication: a shared-secret JWT whose `sub` is the user. */
function createAuthenticate(secret: string): (authorization: unknown) => Promise<Principal> {
  const key = new TextEncoder().encode(secret);
  return async (authorization) => {
    const token = typeof authorization === 'string' ? /^Bearer (\S+)$/i.exec(authorization)?.[1] : undefined;
    if (token === undefined) throw new GraphQLError('Unauthorized: send "Bearer <jwt>"');
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] }).catch(() => {
      throw new GraphQLError('Unauthorized: bad token');
    });
    if (typeof payload.sub !== 'string') throw new GraphQLError('Unauthorized: the token has no `sub`');
    const principal = { sub: payload.sub, admin: payload['admin'] === true };
    return payload.exp === undefined ? principal : { ...principal, expiresAt: payload.exp * 1000 };
  };
}

/** A user sees their own companies; an admin anyone's, and `"*"`. */
function authorize(principal: Principal, userId: string): void {
  if (principal.admin || (userId === principal.sub && userId !== WILDCARD)) return;
  throw new GraphQLError(`Forbidden: no access to the companies of "${userId}"`, {
    extensions: { code: 'FORBIDDEN' },
  });
}

interface Context {
  readonly principal: Principal;
  /** An HTTP or SSE request's: the subscription ends with it. */
  readonly signal?: AbortSignal;
}

export interface AccessService {
  readonly port: number;
  /** Subscriptions open now. */
  readonly subscribers: number;
  stop(): Promise<void>;
}

/** Starts the access service: projector, transient consumer, GraphQL over HTTP, SSE and WebSocket. */
export async function startAccessService(options: AccessServiceOptions): Promise<AccessService> {
  const { amqpUrl: url, exchange = 'access.events', logger = silentLogger } = options;
  if (options.authSecret.length < 32)
    throw new TypeError('Expected `authSecret` to be at least 32 characters');
  const view = await createAccessReadView({
    databaseUrl: options.databaseUrl,
    schema: options.schema ?? 'access',
  });
  const gate = createGate({});
  const registry = createRegistry<AccessChange>({ name: 'availableCompanies', gate });
  const parse = createEventParser<AccessEvent>({ schema: accessEventSchema });
  const projector = createAmqpProjector<AccessEvent>({
    url,
    exchange,
    queue: `${exchange}.access-projector`,
    bindingKeys: [accessBindingKey],
    parse,
    // One event after the other, in delivery order: once a company event is
    // visible, so is every membership before it. A failed event fails alone.
    project: async (events) => {
      const results: ProjectionResult[] = [];
      for (const event of events) results.push(await view.apply(event).catch(toError));
      return results;
    },
    logger,
  });
  const consumer = createAmqpTransientConsumer<AccessEvent>({
    url,
    exchange,
    parse,
    map: createAccessMapper(registry, view),
    registries: [resyncTarget(registry, resyncPoke)],
    // Interest routing: a user's membership events only while the user has a subscriber here.
    bindingKeys: [accessSharedBindingKey],
    interest: { patterns: userBindingKeys, wide: [accessBindingKey] },
    logger,
  });
  const authenticate = createAuthenticate(options.authSecret);
  const yoga = createYoga<{ readonly principal?: Principal }, Context>({
    schema: createSchema<Context>({
      typeDefs: readFileSync(new URL('schema.graphql', import.meta.url), 'utf8'),
      resolvers: {
        Query: {
          availableCompanies: (_: unknown, { userId }: { userId: string }, { principal }: Context) => {
            authorize(principal, userId);
            return view.availableCompanies(userId);
          },
        },
        Subscription: {
          availableCompanies: {
            subscribe: async (_: unknown, { userId }: { userId: string }, { principal, signal }: Context) => {
              authorize(principal, userId);
              const options = signal === undefined ? {} : { signal };
              // A new binding: the client's first read may predate it, so it reads again once routed.
              const waited = await registry.prepare(userId, options);
              return registry.addReceiver(
                userId,
                waited ? { ...options, first: resyncPoke(userId) } : options,
              );
            },
            resolve: (change: AccessChange) => change,
          },
        },
      },
    }),
    plugins: [useSharedSubscriptionExecution()],
    // graphql-ws brings the principal it verified at connection_init; HTTP a header to verify.
    context: async ({ principal, request }) =>
      principal !== undefined
        ? { principal }
        : { principal: await authenticate(request.headers.get('authorization')), signal: request.signal },
  });
  const server = createServer((request, response) => void yoga(request, response));
  const webSocket = attachWebSocket(server, { yoga, authenticate, logger });
  const stop = async (): Promise<void> => {
    await consumer.close();
    await projector.close();
    registry.dispose();
    gate.dispose();
    await webSocket.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await view.close();
  };
  try {
    await projector.start();
    await consumer.start();
    await new Promise<void>((resolve, reject) =>
      server.once('error', reject).listen(options.port ?? 0, resolve),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port: (server.address() as AddressInfo).port,
    get subscribers() {
      return registry.size;
    },
    stop,
  };
}
