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
  /** Once per delivery the projector settled. */
  projected?(event: ProjectedEvent): void;
}

export type SafeTransportObserver = Required<TransportObserver>;

const noop = (): void => undefined;

/** Every hook present, none throwing. */
export function toSafeTransportObserver(observer: TransportObserver = {}): SafeTransportObserver {
  return {
    event: guard(observer, 'event'),
    consuming: guard(observer, 'consuming'),
    projected: guard(observer, 'projected'),
  };
}

function guard<K extends keyof TransportObserver>(
  observer: TransportObserver,
  name: K,
): Required<TransportObserver>[K] {
  const hook = observer[name];
  if (hook === undefined) return noop;
  const call = (hook as (event: unknown) => void).bind(observer);
  const safe = (event: never): void => {
    try {
      call(event);
    } catch {
      // A broken hook must not break delivery; the metrics it feeds will show the gap.
    }
  };
  return safe;
}
