export { createRegistry, WILDCARD } from './core/registry.js';
export type {
  Registry,
  RegistryOptions,
  ReceiverOptions,
  SubmitOptions,
  ResyncOptions,
} from './core/registry.js';
export type { Receiver } from './core/receiver.js';
export { createGate } from './core/gate.js';
export type { Gate, GateOptions, GateStats, Producer, ProducerContext, SubmitResult } from './core/gate.js';
export type { BackoffOptions } from './core/backoff.js';
export { systemClock } from './core/clock.js';
export type { Clock } from './core/clock.js';
export { combineObservers, toSafeObserver } from './core/observer.js';
export type {
  Observer,
  SafeObserver,
  SkipReason,
  DropReason,
  DeliveredEvent,
  DroppedEvent,
  SkippedEvent,
  GateCheckEvent,
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
