import type { Logger } from 'pino';
import { createAmqpProjector, createAmqpPublisher, createAmqpTransientConsumer } from 'pokegate/amqp';
import { createInProcessBus, type InProcessBus } from 'pokegate/bus';
import {
  createEventParser,
  resyncTarget,
  type Gate,
  type Projector,
  type Publisher,
  type Registry,
  type TransientConsumer,
  type TransientConsumerOptions,
  type TransportObserver,
} from 'pokegate';
import type { Config } from './config.js';
import type { OnClose } from './on-close.js';
import {
  companyBindingKeys,
  orderBindingKey,
  orderEventSchema,
  orderRoutingKey,
  orderVersion1BindingKey,
  type OrderEvent,
} from './orders/events.js';
import { createOrdersMapper } from './orders/mapper.js';
import { createOrderProjection } from './orders/projection.js';
import type { ReadView } from './orders/read-view.js';
import { resyncPoke, type OrderChange } from './orders/types.js';
import type { OrdersReadAfter } from './read-after.js';

export interface OrderEventsOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly readView: ReadView;
  readonly gate: Gate;
  readonly ordersChanged: Registry<OrderChange>;
  readonly tokens: OrdersReadAfter['tokens'];
  readonly observer: TransportObserver;
  /** This replica's own projector reports each event it committed here. */
  readonly committed: (event: OrderEvent) => void;
  readonly onClose: OnClose;
}

/** The order events in and out: the publisher, the transient consumer and (unless disabled) the projector. */
export interface OrderEvents {
  readonly publisher: Publisher<OrderEvent>;
  readonly consumer: TransientConsumer;
  readonly projector: Projector | undefined;
  readonly broker: 'in-process' | 'rabbitmq';
}

/**
 * What the transient queue is bound to: with interest routing (the default)
 * the version-1 keys always, and `orders.*.<tenant>` per company with local
 * subscribers (`orders.#` for an admin's `"*"`); otherwise every event.
 */
function consumerBindings(
  config: Config,
): Pick<TransientConsumerOptions<OrderEvent>, 'bindingKeys' | 'interest'> {
  const { routing, lingerMs, maxBindings } = config.interest;
  if (routing === 'all') return { bindingKeys: [orderBindingKey] };
  return {
    bindingKeys: [orderVersion1BindingKey],
    interest: {
      patterns: (companyId) => companyBindingKeys(companyId),
      wide: [orderBindingKey],
      lingerMs,
      maxBindings,
    },
  };
}

/** Creates the order events' parts on RabbitMQ (`AMQP_URL`) or in process, and starts them. */
export async function startOrderEvents(options: OrderEventsOptions): Promise<OrderEvents> {
  const { config, logger, readView, gate, ordersChanged, tokens, observer, committed, onClose } = options;
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
    ...consumerBindings(config),
    observer,
    logger,
  };
  const projectorOptions = {
    queue: config.projectorQueue,
    bindingKeys: [orderBindingKey],
    parse,
    project: createOrderProjection({ readView, delayMs: config.projectionDelayMs, onProjected: committed }),
    // One company's flood must not hold the others' events behind it.
    tenantOf: (event: OrderEvent) => event.companyId,
    observer,
    logger,
  };
  let publisher: Publisher<OrderEvent>;
  let consumer: TransientConsumer;
  let projector: Projector | undefined;
  const amqpUrl = config.amqpUrl;
  if (amqpUrl === undefined) {
    logger.warn('AMQP_URL is not set: events stay in this process (in-process bus); set it to use RabbitMQ');
    const bus: InProcessBus = createInProcessBus({ logger });
    onClose(() => bus.close());
    publisher = bus.createPublisher(publisherOptions);
    consumer = bus.createTransientConsumer(consumerOptions);
    if (config.projectorEnabled) projector = bus.createProjector(projectorOptions);
  } else {
    const exchange = config.exchange;
    publisher = createAmqpPublisher({ ...publisherOptions, url: amqpUrl, exchange });
    onClose(() => publisher.close());
    consumer = createAmqpTransientConsumer({ ...consumerOptions, url: amqpUrl, exchange, gate });
    if (config.projectorEnabled)
      projector = createAmqpProjector({
        ...projectorOptions,
        url: amqpUrl,
        exchange,
        queueType: config.projectorQueueType,
      });
  }
  if (projector === undefined) {
    logger.info(
      'PROJECTOR_ENABLED is false: this replica projects nothing; another one writes the read view',
    );
  }
  await projector?.start();
  await publisher.start();
  await consumer.start();
  return { publisher, consumer, projector, broker: amqpUrl === undefined ? 'in-process' : 'rabbitmq' };
}
