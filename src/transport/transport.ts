import type { Projector, ProjectorOptions, TypedEvent } from './projector.js';
import type { Publisher, PublisherOptions } from './publisher.js';
import type { TransientConsumer, TransientConsumerOptions } from './transient-consumer.js';

/**
 * Where events travel: the factory of the three components a service wires,
 * with one options shape whatever carries them. `createInProcessBus()`
 * (`pokegate/bus`) is one, for a single process and tests;
 * `createAmqpTransport({ url })` (`pokegate/amqp`) is the other, on
 * RabbitMQ. A service written against `Transport` changes carriers by
 * changing the one line that makes it.
 */
export interface Transport {
  createPublisher<E>(options: PublisherOptions<E>): Publisher<E>;
  createTransientConsumer<E>(options: TransientConsumerOptions<E>): TransientConsumer;
  createProjector<E extends TypedEvent>(options: ProjectorOptions<E>): Projector;
  /** Closes every component it made (projectors after their batch in flight where they can). Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
