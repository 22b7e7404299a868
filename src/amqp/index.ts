/**
 * The transient consumer, the projector and the publisher on RabbitMQ (amqplib).
 *
 * @module pokegate/amqp
 */
export { createAmqpTransport } from './transport.js';
export type { AmqpTransport, AmqpTransportOptions, ComponentOptions } from './transport.js';
export { createAmqpTransientConsumer } from './transient-consumer.js';
export type { AmqpTransientConsumerOptions } from './transient-consumer.js';
export type { GateLoad } from './ack-batch.js';
export { createAmqpProjector, projectorQueues, retryQueueName, projectorHeaders } from './projector.js';
export type { AmqpProjector, AmqpProjectorOptions, ProjectorQueueOptions } from './projector.js';
export { createAmqpPublisher } from './publisher.js';
export type { AmqpPublisherOptions } from './publisher.js';
export type { AmqpConnectionOptions, ReconnectOptions } from './connection.js';
