import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { collectDefaultMetrics, Registry as PromRegistry } from 'prom-client';
import { createAmqpProjector } from 'pokegate/amqp';
import { createAmqpPublisher } from 'pokegate/amqp';
import { createAmqpTransientConsumer } from 'pokegate/amqp';
import { createInProcessBus, type InProcessBus } from 'pokegate/bus';
import { createGate, type Gate } from 'pokegate';
import { createRegistry, type Registry } from 'pokegate';
import { createPrometheusObserver } from 'pokegate/prometheus';
import { createPrometheusTransportObserver } from 'pokegate/prometheus';
import { createOrdersMapper } from './orders/mapper.js';
import { createMemoryLedger, createSqlLedger, type OrderLedger } from './orders/owner-ledger.js';
import { createOrderProjection } from './orders/projection.js';
import { createReadView, type ReadView } from './orders/read-view.js';
import { createPostgresClient } from './orders/sql-client.js';
import { resyncPoke, type OrderChange } from './orders/types.js';
import type { NotificationListener } from 'pokegate/postgres';
import { createOrderWriter } from './orders/writer.js';
import { createEventParser } from 'pokegate';
import { createLogThrottle } from 'pokegate';
import { orderBindingKey, orderEventSchema, orderRoutingKey, type OrderEvent } from './orders/events.js';
import type { Projector } from 'pokegate';
import type { Publisher } from 'pokegate';
import { resyncTarget, type TransientConsumer } from 'pokegate';
import { createAuthenticator } from './auth.js';
import type { Config } from './config.js';
import { createDemoPage } from './demo-page.js';
import { createGraphQLServer } from './graphql.js';
import { createHttpRoutes, notFound } from './http.js';
import { createInternalErrors } from 'pokegate/graphql';
import { createOperationRateLimit } from 'pokegate/graphql';
import { createOrdersReadAfter } from './read-after.js';
import { attachWebSocket, type WebSocketEndpoint } from 'pokegate/graphql';

export interface App {
  /** The port it listens on (useful with `PORT=0`). */
  readonly port: number;
  /** The internal port serving `/metrics` (`METRICS_PORT`), when configured. */
  readonly metricsPort: number | undefined;
  readonly logger: Logger;
  /**
   * Stops in order: stop consuming, let the gate deliver what is already
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

  const metrics = new PromRegistry();
  collectDefaultMetrics({ register: metrics });
  const transportObserver = createPrometheusTransportObserver({ register: metrics });

  const readView: ReadView = await createReadView({ databaseUrl: config.databaseUrl, logger });
  closers.push(() => readView.close());
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
  closers.push(() => ledger.close());

  // Every replica's commits reach the gate as notices while the listener is
  // live: a poke then checks once, after its commit. While it is not, the
  // local projector's reports (`onProjected`) still end the first wait early.
  // No notice can come before the registry below exists: nothing is projected
  // yet, and a notice arrives as a later socket event.
  const commits: NotificationListener = await readView.listenCommits(({ companyId, orderId, version }) => {
    committed(companyId, orderId, version);
  });
  closers.push(() => commits.close());
  const gate: Gate = createGate({
    observer: createPrometheusObserver({ register: metrics, registries: ['ordersChanged'] }),
    awaitProgressMs: 10,
    progressLive: () => commits.live,
    fallbackMs: config.gateFallbackMs,
  });
  const ordersChanged: Registry<OrderChange> = createRegistry<OrderChange>({ name: 'ordersChanged', gate });
  closers.push(() => {
    ordersChanged.dispose();
    gate.dispose();
  });
  const { tokens, readAfter } = createOrdersReadAfter({
    secret: config.authSecret,
    readView,
    timeoutMs: config.readAfterTimeoutMs,
    register: metrics,
  });
  closers.push(() => readAfter.dispose());
  /**
   * Every commit report of this replica's read view goes here (the notices of
   * every replica's commits, and this replica's own projector's reports): it
   * wakes the pokes waiting in the gate and the reads waiting for their tokens.
   */
  const committed = (companyId: string, orderId: string, version: number): void => {
    ordersChanged.progress(companyId, orderId, version);
    readAfter.notify(orderId, version);
  };

  const parse = createEventParser<OrderEvent>({ schema: orderEventSchema });
  const publisherOptions = {
    routingKey: orderRoutingKey,
    messageId: (event: OrderEvent) => event.eventId,
    logger,
  };
  const consumerOptions = {
    parse,
    map: createOrdersMapper(ordersChanged, readView, tokens),
    registries: [resyncTarget(ordersChanged, resyncPoke)],
    bindingKeys: [orderBindingKey],
    observer: transportObserver,
    logger,
  };
  const projectorOptions = {
    queue: config.projectorQueue,
    bindingKeys: [orderBindingKey],
    parse,
    project: createOrderProjection({
      readView,
      delayMs: config.projectionDelayMs,
      onProjected: (event) => committed(event.companyId, event.orderId, event.version),
    }),
    observer: transportObserver,
    logger,
  };
  let publisher: Publisher<OrderEvent>;
  let consumer: TransientConsumer;
  let projector: Projector | undefined;
  const amqpUrl = config.amqpUrl;
  if (amqpUrl === undefined) {
    logger.warn('AMQP_URL is not set: events stay in this process (in-process bus); set it to use RabbitMQ');
    const bus: InProcessBus = createInProcessBus({ logger });
    closers.push(() => bus.close());
    publisher = bus.createPublisher(publisherOptions);
    consumer = bus.createTransientConsumer(consumerOptions);
    if (config.projectorEnabled) projector = bus.createProjector(projectorOptions);
  } else {
    const exchange = config.exchange;
    publisher = createAmqpPublisher({ ...publisherOptions, url: amqpUrl, exchange });
    closers.push(() => publisher.close());
    consumer = createAmqpTransientConsumer({ ...consumerOptions, url: amqpUrl, exchange, gate });
    if (config.projectorEnabled)
      projector = createAmqpProjector({ ...projectorOptions, url: amqpUrl, exchange });
  }
  if (projector === undefined) {
    logger.info(
      'PROJECTOR_ENABLED is false: this replica projects nothing; another one writes the read view',
    );
  }
  await projector?.start();
  await publisher.start();
  await consumer.start();

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
  closers.push(() => refusals.dispose());
  const rateLimit = createOperationRateLimit({
    ...config.rateLimit,
    onRefused: (principal, scope) =>
      refusals.warn(`rate:${scope}`, { sub: principal.sub, scope }, 'operation over the rate limit refused'),
  });
  const yoga = createGraphQLServer({
    authenticate,
    logger,
    plugins: [readAfter.plugin],
    internalErrors,
    rateLimit,
    introspection: config.introspection,
    graphiql: config.graphiql,
    limits: config.operationLimits,
    onRefused: (limit, error) =>
      refusals.warn(`limit:${limit}`, { limit, reason: error.message }, 'operation over a limit refused'),
    services: { reader: readView, writer: createOrderWriter({ ledger, publisher }), ordersChanged },
  });
  const demoPage = createDemoPage({ logger });
  const ready = async (): Promise<boolean> => {
    if (!consumer.consuming) return false;
    await readView.ping({ signal: AbortSignal.timeout(2_000) });
    return true;
  };
  let metricsPort: number | undefined;
  if (config.metricsPort !== undefined) {
    // Prometheus scrapes this port from inside; the public port answers 404 to /metrics.
    const internal = createServer(createHttpRoutes({ metrics, ready, fallback: notFound }));
    await listen(internal, config.metricsPort);
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          internal.close(() => resolve());
          internal.closeAllConnections();
        }),
    );
    metricsPort = (internal.address() as AddressInfo).port;
  }
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
  const port = (server.address() as AddressInfo).port;
  logger.info(
    {
      port,
      metricsPort,
      broker: amqpUrl === undefined ? 'in-process' : 'rabbitmq',
      readView: readView.backend,
    },
    'pokegate listening',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      logger.info('shutting down: stop accepting connections and consuming');
      const deadline = AbortSignal.timeout(config.shutdownTimeoutMs);
      // New connections are refused from now on; requests in flight finish below.
      const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection goes idle once its last response is written: close it then.
      const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      await consumer.close();
      await projector?.close({ signal: deadline });
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
  return { port, metricsPort, logger, stop };
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
