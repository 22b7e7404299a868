import { guardHook } from '../core/observer.js';

/** What became of one message from the broker (or the in-process bus). */
export type EventOutcome = 'accepted' | 'malformed' | 'unroutable';

/** What the projector did with one delivery. */
export type ProjectedOutcome = 'applied' | 'duplicate' | 'retried' | 'dead_lettered';

export interface EventReceivedEvent {
  readonly outcome: EventOutcome;
  readonly routingKey: string;
}
export interface ConsumingEvent {
  /** Whether the transient consumer is consuming now. */
  readonly consuming: boolean;
}
export interface BindingsEvent {
  /** The transient queue's bindings now: its binding keys and the bindings interest made. */
  readonly bindings: number;
}
export interface InterestRefusedEvent {
  /** The registry whose key it was. */
  readonly registry: string;
  /** Why the key's patterns were refused; the key is then covered by the wide patterns. */
  readonly reason: string;
}
export interface ProjectedEvent {
  readonly outcome: ProjectedOutcome;
}

/**
 * Hooks for the transport's outcomes, for metrics. All are optional and
 * synchronous; a hook that throws is ignored, so it can never break delivery.
 */
export interface TransportObserver {
  /** Once per message the transient consumer received. */
  event?(event: EventReceivedEvent): void;
  /** The transient consumer started or stopped consuming (a gap starts or ends). */
  consuming?(event: ConsumingEvent): void;
  /** The transient queue's bindings changed (interest routing), or its queue was lost (0). */
  bindings?(event: BindingsEvent): void;
  /** A key's binding patterns could not be made (the mapping threw, or gave no valid pattern). */
  interestRefused?(event: InterestRefusedEvent): void;
  /** Once per delivery the projector settled. */
  projected?(event: ProjectedEvent): void;
}

export type SafeTransportObserver = Required<TransportObserver>;

/** Every hook present, none throwing. */
export function toSafeTransportObserver(observer: TransportObserver = {}): SafeTransportObserver {
  return {
    event: guardHook(observer, 'event'),
    consuming: guardHook(observer, 'consuming'),
    bindings: guardHook(observer, 'bindings'),
    interestRefused: guardHook(observer, 'interestRefused'),
    projected: guardHook(observer, 'projected'),
  };
}
