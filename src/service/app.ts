import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { collectDefaultMetrics, Registry as PromRegistry } from 'prom-client';
import { createLogThrottle } from 'pokegate';
import type { TransportObserver } from 'pokegate';
import {
  attachWebSocket,
  createInternalErrors,
  createOperationRateLimit,
  type InternalErrors,
  type OperationRateLimit,
  type WebSocketEndpoint,
} from 'pokegate/graphql';
import { createPrometheusTransportObserver } from 'pokegate/prometheus';
import { createAuthenticator, type Principal } from './auth.js';
import type { Config } from './config.js';
import type { OnClose } from './on-close.js';
import { createPokeWiring, type PokeWiring } from './poke-wiring.js';
import { createDemoPage } from './demo-page.js';
import { createGraphQLServer, type GraphQLServer } from './graphql.js';
import { createHttpRoutes, notFound } from './http.js';
import { startOrderEvents, type OrderEvents } from './order-events.js';
import { createMemoryLedger, createSqlLedger, type OrderLedger } from './orders/owner-ledger.js';
import { createReadView, type ReadView } from './orders/read-view.js';
import { createPostgresClient } from './orders/sql-client.js';
import { createOrderWriter } from './orders/writer.js';
import { createSessionRefreshCounter } from './session-refresh.js';

export interface App {
  /** The port it listens on (useful with `PORT=0`). */
  readonly port: number;
  /** The internal port serving `/metrics` (`METRICS_PORT`), when configured. */
  readonly metricsPort: number | undefined;
  readonly logger: Logger;
  /**
   * Stops in order: stop consuming, let the gate poke what is already
   * visible (within the shutdown deadline), complete every subscription,
   * close the sockets with 1001, then the broker connections and the pools.
   * Idempotent.
   */
  stop(): Promise<void>;
}

export interface StartAppOptions {
  /** @default a pino logger at `config.logLevel` on stdout */
  readonly logger?: Logger;
}

/** The sampling interval of `nodejs_eventloop_lag_*` (prom-client's `eventLoopMonitoringPrecision`), ms. */
const eventLoopSampleMs = 100;

/** Builds the reference service from its configuration and starts serving. */
export async function startApp(config: Config, options: StartAppOptions = {}): Promise<App> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'pokegate' } });
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        logger.error({ err: error }, 'shutdown step failed');
      }
    }
  };
  try {
    return await build(config, logger, closers, closeAll);
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function build(
  config: Config,
  logger: Logger,
  closers: (() => Promise<void> | void)[],
  closeAll: () => Promise<void>,
): Promise<App> {
  if (config.devSecret)
    logger.warn('AUTH_SECRET is not set: using the development secret; never do this in production');
  const onClose: OnClose = (close) => {
    closers.push(close);
  };
  const metrics = new PromRegistry();
  // The event-loop delay histogram samples every 100 ms, not prom-client's
  // 10: its timer woke an idle replica 100 times a second, about 40 % of the
  // CPU such a replica spends; ten samples a second still give a dashboard its p99.
  collectDefaultMetrics({ register: metrics, eventLoopMonitoringPrecision: eventLoopSampleMs });
  const transportObserver: TransportObserver = createPrometheusTransportObserver({ register: metrics });
  const { readView, ledger } = await openStores(config, logger, onClose);
  const pokes = await createPokeWiring(config, readView, metrics, onClose);
  const events = await startOrderEvents({
    config,
    logger,
    readView,
    gate: pokes.gate,
    ordersChanged: pokes.ordersChanged,
    tokens: pokes.tokens,
    observer: transportObserver,
    committed: (event) => pokes.committed(event.companyId, event.orderId, event.version),
    onClose,
  });
  const api = createApi(config, logger, { readView, ledger, pokes, events, metrics }, onClose);
  const ready = async (): Promise<boolean> => {
    if (!events.consumer.consuming) return false;
    await readView.ping({ signal: AbortSignal.timeout(2_000) });
    return true;
  };
  const metricsPort = await serveMetrics(config, metrics, ready, onClose);
  const { server, webSocket, port } = await serve(config, logger, { api, metrics, ready });
  logger.info({ port, metricsPort, broker: events.broker, readView: readView.backend }, 'pokegate listening');
  const stop = shutdown(config, logger, { server, webSocket, pokes, events, closeAll });
  return { port, metricsPort, logger, stop };
}

/** The read view this replica serves from, and the owner ledger its mutations check. */
async function openStores(
  config: Config,
  logger: Logger,
  onClose: OnClose,
): Promise<{ readView: ReadView; ledger: OrderLedger }> {
  const readView: ReadView = await createReadView({
    databaseUrl: config.databaseUrl,
    maxConnections: config.databasePoolMax,
    logger,
  });
  onClose(() => readView.close());
  const ledger: OrderLedger =
    config.databaseUrl === undefined
      ? createMemoryLedger()
      : await createSqlLedger(
          createPostgresClient({
            connectionString: config.databaseUrl,
            maxConnections: 4,
            connectionTimeoutMs: 5_000,
            statementTimeoutMs: 10_000,
            applicationName: 'pokegate owner ledger',
            logger,
          }),
        );
  onClose(() => ledger.close());
  return { readView, ledger };
}

interface Api {
  readonly yoga: GraphQLServer;
  readonly authenticate: (authorization: unknown) => Promise<Principal>;
  readonly internalErrors: InternalErrors;
  readonly rateLimit: OperationRateLimit;
}

/** Authentication, the limits on what a client may ask, and the GraphQL server over them. */
function createApi(
  config: Config,
  logger: Logger,
  parts: {
    readView: ReadView;
    ledger: OrderLedger;
    pokes: PokeWiring;
    events: OrderEvents;
    metrics: PromRegistry;
  },
  onClose: OnClose,
): Api {
  const { readView, ledger, pokes, events, metrics } = parts;
  const authenticator = createAuthenticator({
    secret: config.authSecret,
    jwksUrl: config.jwksUrl,
    jwksAlgorithm: config.jwksAlgorithm,
    issuer: config.issuer,
    audience: config.audience,
  });
  const authenticate = (authorization: unknown) => authenticator.authenticate(authorization);
  const internalErrors = createInternalErrors({ logger, masked: config.production });
  // An abusive client's refusals are one line per kind, then one summary per interval.
  const refusals = createLogThrottle({ logger });
  onClose(() => refusals.dispose());
  const rateLimit = createOperationRateLimit({
    ...config.rateLimit,
    onRefused: (principal, scope) =>
      refusals.warn(`rate:${scope}`, { sub: principal.sub, scope }, 'operation over the rate limit refused'),
  });
  const yoga = createGraphQLServer({
    authenticate,
    logger,
    plugins: [pokes.readAfter.plugin],
    internalErrors,
    rateLimit,
    introspection: config.introspection,
    graphiql: config.graphiql,
    limits: config.operationLimits,
    onRefused: (limit, error) =>
      refusals.warn(`limit:${limit}`, { limit, reason: error.message }, 'operation over a limit refused'),
    services: {
      reader: readView,
      writer: createOrderWriter({ ledger, publisher: events.publisher }),
      ordersChanged: pokes.ordersChanged,
      sessionRefreshed: createSessionRefreshCounter(metrics),
    },
  });
  return { yoga, authenticate, internalErrors, rateLimit };
}

/** The internal port serving `/metrics` (`METRICS_PORT`), when configured: Prometheus scrapes it from inside. */
async function serveMetrics(
  config: Config,
  metrics: PromRegistry,
  ready: () => Promise<boolean>,
  onClose: OnClose,
): Promise<number | undefined> {
  if (config.metricsPort === undefined) return undefined;
  // The public port answers 404 to /metrics.
  const internal = createServer(createHttpRoutes({ metrics, ready, fallback: notFound }));
  await listen(internal, config.metricsPort);
  onClose(
    () =>
      new Promise<void>((resolve) => {
        internal.close(() => resolve());
        internal.closeAllConnections();
      }),
  );
  return (internal.address() as AddressInfo).port;
}

/** The public port: health, the demo page, GraphQL over HTTP and over WebSocket. */
async function serve(
  config: Config,
  logger: Logger,
  parts: { api: Api; metrics: PromRegistry; ready: () => Promise<boolean> },
): Promise<{ server: Server; webSocket: WebSocketEndpoint; port: number }> {
  const { api, metrics, ready } = parts;
  const { yoga, authenticate, internalErrors, rateLimit } = api;
  const demoPage = createDemoPage({ logger });
  const server: Server = createServer(
    createHttpRoutes({
      metrics: config.metricsPort === undefined ? metrics : undefined,
      ready,
      fallback: (request, response) => {
        if (!demoPage(request, response)) void yoga(request, response);
      },
    }),
  );
  const webSocket: WebSocketEndpoint = attachWebSocket(
    server,
    { yoga, authenticate, logger, internalErrors, rateLimit },
    { allowedOrigins: config.allowedOrigins },
  );
  await listen(server, config.port);
  return { server, webSocket, port: (server.address() as AddressInfo).port };
}

/** `App.stop`: the shutdown order, run once. */
function shutdown(
  config: Config,
  logger: Logger,
  parts: {
    server: Server;
    webSocket: WebSocketEndpoint;
    pokes: PokeWiring;
    events: OrderEvents;
    closeAll: () => Promise<void>;
  },
): () => Promise<void> {
  const { server, webSocket, pokes, events, closeAll } = parts;
  const { gate, ordersChanged } = pokes;
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      logger.info('shutting down: stop accepting connections and consuming');
      const deadline = AbortSignal.timeout(config.shutdownTimeoutMs);
      // New connections are refused from now on; requests in flight finish below.
      const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection goes idle once its last response is written: close it then.
      const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      await events.consumer.close();
      await events.projector?.close({ signal: deadline });
      logger.info({ ...gate.stats }, 'shutting down: draining the gate');
      await gate.idle(deadline);
      logger.info(
        { connections: webSocket.connections },
        'shutting down: completing subscriptions, closing sockets',
      );
      ordersChanged.dispose();
      await webSocket.close();
      // Mutations in flight still publish: the publisher closes only after them.
      await Promise.race([httpClosed, abortion(deadline)]);
      clearInterval(idleSweep);
      if (deadline.aborted) logger.warn('shutdown deadline reached: cutting the remaining connections');
      server.closeAllConnections();
      await closeAll();
      logger.info('shut down');
    })());
}

function abortion(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
