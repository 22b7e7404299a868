import type { Publisher } from '../transport/publisher.js';
import type { TransientConsumer } from '../transport/transient-consumer.js';
import type { TypedEvent } from '../transport/projector.js';
import type { Transport } from '../transport/transport.js';
import { TransportClosedError } from '../transport/errors.js';
import type { AmqpConnectionOptions } from './connection.js';
import { createAmqpProjector, type AmqpProjector, type AmqpProjectorOptions } from './projector.js';
import { createAmqpPublisher, type AmqpPublisherOptions } from './publisher.js';
import { createAmqpTransientConsumer, type AmqpTransientConsumerOptions } from './transient-consumer.js';

/** What every component of an AMQP transport shares: the broker, and the exchange the events travel on. */
export interface AmqpTransportOptions extends AmqpConnectionOptions {
  /**
   * The topic exchange the events are published on; declared (durable) if missing.
   * @default 'pokegate.events'
   */
  readonly exchange?: string;
}

/** A component's own options; any shared one (`url`, `exchange`, `logger`…) given here overrides the transport's. */
export type ComponentOptions<O> = Omit<O, keyof AmqpTransportOptions> & Partial<AmqpTransportOptions>;

/**
 * RabbitMQ as a `Transport`: the same component options as the in-process
 * bus, plus each component's broker settings (`prefetch`, `deadLetterQueue`,
 * `gate`…). Each component holds a connection of its own, kept up by
 * amqplib's recovery.
 */
export interface AmqpTransport extends Transport {
  createPublisher<E>(options: ComponentOptions<AmqpPublisherOptions<E>>): Publisher<E>;
  createTransientConsumer<E>(options: ComponentOptions<AmqpTransientConsumerOptions<E>>): TransientConsumer;
  createProjector<E extends TypedEvent>(options: ComponentOptions<AmqpProjectorOptions<E>>): AmqpProjector;
}

/**
 * The three components on RabbitMQ, made with one set of broker options;
 * `close()` closes every one it made.
 *
 * @example
 * const transport = process.env.AMQP_URL
 *   ? createAmqpTransport({ url: process.env.AMQP_URL })
 *   : createInProcessBus();
 */
export function createAmqpTransport(options: AmqpTransportOptions): AmqpTransport {
  const shared = { ...options };
  const components = new Set<{ close(): Promise<void> }>();
  let closing: Promise<void> | undefined;
  const track = <C extends { close(): Promise<void> }>(component: C): C => {
    if (closing !== undefined) throw new TransportClosedError('The AMQP transport');
    components.add(component);
    return component;
  };
  const transport: AmqpTransport = {
    createPublisher: (own) => track(createAmqpPublisher({ ...shared, ...own })),
    createTransientConsumer: (own) => track(createAmqpTransientConsumer({ ...shared, ...own })),
    createProjector: (own) => track(createAmqpProjector({ ...shared, ...own })),
    close() {
      closing ??= Promise.all([...components].map((component) => component.close())).then(() => undefined);
      return closing;
    },
    [Symbol.asyncDispose]: () => transport.close(),
  };
  return transport;
}
