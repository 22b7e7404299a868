/**
 * The transient consumer, the projector and the publisher on RabbitMQ (amqplib).
 *
 * @module pokegate/amqp
 */
export { createAmqpTransientConsumer } from './transient-consumer.js';
export type { AmqpTransientConsumerOptions } from './transient-consumer.js';
export type { GateLoad } from './ack-batch.js';
export { createAmqpProjector, retryQueueName, projectorHeaders } from './projector.js';
export type { AmqpProjectorOptions } from './projector.js';
export { createAmqpPublisher } from './publisher.js';
export type { AmqpPublisherOptions } from './publisher.js';
export type { AmqpConnectionOptions, ReconnectOptions } from './connection.js';
export { durableQueueTypes } from './queue-type.js';
export type { DurableQueueType } from './queue-type.js';
