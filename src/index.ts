/**
 * The core (registry, gate, observer) and the transport-agnostic pieces a service wires its events
 * with. Nothing here imports a Node.js built-in or a server library; the adapters are entries of
 * their own: `pokegate/amqp`, `pokegate/bus`, `pokegate/graphql`, `pokegate/prometheus`, and the
 * browser client `pokegate/client`.
 *
 * @module pokegate
 */
export { createRegistry, WILDCARD } from './core/registry.js';
export type {
  Registry,
  RegistryOptions,
  ReceiverOptions,
  SubmitOptions,
  ResyncOptions,
  Addressed,
  KeyWatcher,
  PrepareOptions,
} from './core/registry.js';
export type { Receiver, ReceiverSink, Equals } from './core/receiver.js';
export { createGate } from './core/gate.js';
export type {
  Gate,
  GateClient,
  GateOptions,
  GateStats,
  GateTask,
  Producer,
  ProducerContext,
  SubmitResult,
} from './core/gate.js';
export type { BackoffOptions } from './common/backoff.js';
export { systemClock } from './common/clock.js';
export type { Clock } from './common/clock.js';
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
export {
  PokegateError,
  RegistryDisposedError,
  GateTimeoutError,
  DisposedError,
  toError,
  reasonOf,
} from './common/errors.js';

// --- Events at the edge, mappers, and the transport interfaces every adapter implements ---
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
export { route, routeAddressed, resyncTarget } from './transport/transient-consumer.js';
export { tenantWord } from './transport/tenant-word.js';
export type { InterestOptions, BindingPort } from './transport/interest-options.js';
export type {
  Route,
  KeyedRoute,
  AddressedRoute,
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
export type { Transport } from './transport/transport.js';
export { toSafeTransportObserver } from './transport/transport-observer.js';
export type {
  TransportObserver,
  SafeTransportObserver,
  EventOutcome,
  ProjectedOutcome,
  EventReceivedEvent,
  ConsumingEvent,
  BindingsEvent,
  InterestRefusedEvent,
  ProjectedEvent,
} from './transport/transport-observer.js';
export { silentLogger } from './common/logger.js';
export type { Logger, LogFn } from './common/logger.js';
export { createLogThrottle } from './common/log-throttle.js';
export type { LogThrottle, LogThrottleOptions } from './common/log-throttle.js';

// --- Helpers with the library's conventions, for adapters and services built on it ---
export { abortable, abortReason } from './common/abort.js';
export { expectInteger, expectNumber } from './common/validate.js';
export { unreferencedClock } from './common/clock.js';
export {
  TransportClosedError,
  BrokerUnreachableError,
  PublisherBufferFullError,
  PublishNackedError,
} from './transport/errors.js';
