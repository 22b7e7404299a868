export { createRegistry, WILDCARD } from './core/registry.js';
export type {
  Registry,
  RegistryOptions,
  ReceiverOptions,
  SubmitOptions,
  ResyncOptions,
} from './core/registry.js';
export type { Receiver, ReceiverSink } from './core/receiver.js';
export { createGate } from './core/gate.js';
export type { Gate, GateOptions, GateStats, Producer, ProducerContext, SubmitResult } from './core/gate.js';
export type { BackoffOptions } from './core/backoff.js';
export { systemClock } from './core/clock.js';
export type { Clock } from './core/clock.js';
export { combineObservers, guardHook, toSafeObserver } from './core/observer.js';
export type {
  Observer,
  SafeObserver,
  SkipReason,
  DropReason,
  DeliveredEvent,
  DroppedEvent,
  SkippedEvent,
  GateCheckEvent,
  FallbackCheckEvent,
  VisibleEvent,
  RetryEvent,
  CoalescedEvent,
  ResyncEvent,
  QueueDepthEvent,
  ReceiversEvent,
} from './core/observer.js';
export { shallowEqual } from './core/shallow-equal.js';
export { PokegateError, RegistryDisposedError, GateTimeoutError, DisposedError } from './core/errors.js';
export { createPrometheusObserver } from './metrics/prometheus-observer.js';
export type { PrometheusObserverOptions } from './metrics/prometheus-observer.js';

// --- GraphQL: read-after tokens, read-your-writes across replicas ---
export { createReadAfter } from './graphql/read-after.js';
export type {
  ReadAfter,
  ReadAfterOptions,
  ReadAfterObserver,
  ReadAfterEvent,
  ReadAfterOutcome,
  ReadAfterExtension,
  VersionTarget,
  VisibilityCheck,
} from './graphql/read-after.js';
export { createPrometheusReadAfterObserver } from './metrics/prometheus-read-after-observer.js';
export type { PrometheusReadAfterObserverOptions } from './metrics/prometheus-read-after-observer.js';

// --- Transport: events at the edge, the transient consumer, the projector, the publisher ---
export { createEventParser } from './transport/event-parser.js';
export type {
  EventParser,
  EventParserOptions,
  EventSchema,
  SchemaResult,
  SchemaIssue,
  ParseResult,
  MalformedReason,
} from './transport/event-parser.js';
export {
  orderEventSchema,
  orderRoutingKey,
  orderRoutingKeys,
  orderBindingKey,
} from './transport/order-events.js';
export type {
  OrderEvent,
  OrderPlaced,
  OrderStatusChanged,
  OrderRemoved,
  OrderStatus,
} from './transport/order-events.js';
export { route, resyncTarget } from './transport/transient-consumer.js';
export type {
  Route,
  Mapper,
  MapContext,
  ResyncTarget,
  StartOptions,
  TransientConsumer,
  TransientConsumerOptions,
} from './transport/transient-consumer.js';
export { defaultRetryDelaysMs } from './transport/projector.js';
export type {
  Projector,
  ProjectorOptions,
  ProjectorCloseOptions,
  BatchProjection,
  ProjectionContext,
  ProjectionOutcome,
  ProjectionResult,
  TypedEvent,
  DeadLetter,
} from './transport/projector.js';
export type {
  Publisher,
  PublisherOptions,
  PublishOptions,
  PublisherCloseOptions,
} from './transport/publisher.js';
export { toSafeTransportObserver } from './transport/transport-observer.js';
export type {
  TransportObserver,
  SafeTransportObserver,
  EventOutcome,
  ProjectedOutcome,
  EventReceivedEvent,
  ConsumingEvent,
  ProjectedEvent,
} from './transport/transport-observer.js';
export type { Logger } from './transport/logger.js';
export {
  TransportClosedError,
  BrokerUnreachableError,
  PublisherBufferFullError,
  PublishNackedError,
} from './transport/errors.js';
export { createAmqpTransientConsumer } from './amqp/transient-consumer.js';
export type { AmqpTransientConsumerOptions } from './amqp/transient-consumer.js';
export type { GateLoad } from './amqp/ack-batch.js';
export { createAmqpProjector, retryQueueName, projectorHeaders } from './amqp/projector.js';
export type { AmqpProjectorOptions } from './amqp/projector.js';
export { createAmqpPublisher } from './amqp/publisher.js';
export type { AmqpPublisherOptions } from './amqp/publisher.js';
export type { AmqpConnectionOptions, ReconnectOptions } from './amqp/connection.js';
export { createInProcessBus } from './bus/in-process-bus.js';
export type { InProcessBus, InProcessBusOptions } from './bus/in-process-bus.js';
export { createPrometheusTransportObserver } from './metrics/prometheus-transport-observer.js';
export type { PrometheusTransportObserverOptions } from './metrics/prometheus-transport-observer.js';

// --- Client: live queries that refetch on poke, over graphql-ws ---
export { createLiveClient } from './client/live-client.js';
export type {
  LiveClient,
  LiveClientOptions,
  ConnectionStatus,
  RequestOptions,
} from './client/live-client-options.js';
export type {
  LiveQuery,
  LiveQueryOptions,
  LiveQueryStatus,
  LiveQueryStats,
  LiveQueryUpdate,
  FetchReason,
} from './client/live-query-options.js';
export type { WebSocketConstructor } from './client/session.js';
export type { TypedDocumentNode, OperationVariables } from './client/document.js';
export { OperationError, ConnectionClosedError, ConnectionFailedError } from './client/errors.js';
export type { CloseInfo } from './client/errors.js';
