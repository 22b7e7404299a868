/** Why a submission produced no poke. */
export type SkipReason = 'timeout' | 'overloaded' | 'error' | 'no_receivers' | 'disposed';

/**
 * Why a receiver did not get a poke: its buffer was full, or an equal poke was
 * already waiting in it (the receiver still refetches, once).
 */
export type DropReason = 'buffer_full' | 'duplicate';

export interface DeliveredEvent {
  readonly registry: string;
  /** Receivers that got the poke in this fan-out. */
  readonly receivers: number;
}
export interface DroppedEvent {
  readonly registry: string;
  readonly reason: DropReason;
  /** Receivers that did not get the poke in this fan-out, for this reason. */
  readonly count: number;
}
export interface SkippedEvent {
  readonly registry: string;
  readonly reason: SkipReason;
}
export interface GateCheckEvent {
  readonly registry: string;
  /** 1 for the first check of a submission. */
  readonly attempt: number;
  readonly durationMs: number;
  readonly outcome: 'visible' | 'not_visible' | 'error';
  /** What the producer threw, when `outcome` is `error`. */
  readonly error?: Error;
}
export interface FallbackCheckEvent {
  readonly registry: string;
  /** The check's attempt number within its submission. */
  readonly attempt: number;
}
export interface VisibleEvent {
  readonly registry: string;
  /** From `submit` to the check that found the change visible. */
  readonly gateMs: number;
  /** From the event's `occurredAt` to the fan-out, when the submit gave one. */
  readonly lagMs?: number;
}
export interface RetryEvent {
  readonly registry: string;
  /** The attempt that just failed. */
  readonly attempt: number;
  readonly delayMs: number;
}
export interface CoalescedEvent {
  readonly registry: string;
}
export interface ResyncEvent {
  readonly registry: string;
  /** Receivers this round pokes. */
  readonly receivers: number;
}
export interface QueueDepthEvent {
  readonly registry: string;
  /** Submissions of this registry waiting for a worker or for their next check. */
  readonly depth: number;
}
export interface ReceiversEvent {
  readonly registry: string;
  /** Receivers open now. */
  readonly open: number;
}

/**
 * Hooks for every outcome, for metrics and logs. All are optional and
 * synchronous; they run on the event path, so keep them cheap. A hook that
 * throws is ignored: it can never break a fan-out.
 */
export interface Observer {
  /** Once per fan-out that reached at least one receiver. */
  delivered?(event: DeliveredEvent): void;
  /** Once per fan-out and reason in which some receivers did not get the poke. */
  dropped?(event: DroppedEvent): void;
  /** A submission ended without a poke. */
  skipped?(event: SkippedEvent): void;
  /** A producer run, i.e. one read-view visibility check. */
  gateCheck?(event: GateCheckEvent): void;
  /**
   * A check of a submission with a version is about to run that no progress
   * report started: a poll, because reports are not live or the report of
   * its version did not come within the fallback interval. Also counted by
   * `gateCheck`.
   */
  fallbackCheck?(event: FallbackCheckEvent): void;
  /** A submission was found visible and is about to fan out. */
  visible?(event: VisibleEvent): void;
  /** A check found nothing, and the submission waits before the next one. */
  retry?(event: RetryEvent): void;
  /** A waiting submission was replaced by a newer one with the same coalesce key. */
  coalesced?(event: CoalescedEvent): void;
  /** A resync round started. */
  resync?(event: ResyncEvent): void;
  queueDepth?(event: QueueDepthEvent): void;
  receivers?(event: ReceiversEvent): void;
}

const hookNames = [
  'delivered',
  'dropped',
  'skipped',
  'gateCheck',
  'fallbackCheck',
  'visible',
  'retry',
  'coalesced',
  'resync',
  'queueDepth',
  'receivers',
] as const satisfies readonly (keyof Observer)[];

/** Every hook present, none throwing. */
export type SafeObserver = Required<Observer>;

const noop = (): void => undefined;

/**
 * `observer[name]`, called through the observer (so a class-based one keeps
 * its `this`) and unable to throw; a no-op when absent. Wrapped once, so the
 * hot path calls it without checks or try/catch around it.
 */
export function guardHook<O extends object, K extends keyof O>(observer: O, name: K): NonNullable<O[K]> {
  const hook = observer[name];
  if (typeof hook !== 'function') return noop as NonNullable<O[K]>;
  const call = (hook as (event: unknown) => void).bind(observer);
  const safe = (event: unknown): void => {
    try {
      call(event);
    } catch {
      // A broken hook must not break a fan-out; the metrics it feeds will show the gap.
    }
  };
  return safe as NonNullable<O[K]>;
}

/** Wraps each hook once, so the hot path calls it without checks or try/catch around it. */
export function toSafeObserver(observer: Observer = {}): SafeObserver {
  const safe: Record<string, (event: never) => void> = {};
  for (const name of hookNames) safe[name] = guardHook(observer, name);
  return safe as SafeObserver;
}

/** One observer that calls each of `observers` in turn. */
export function combineObservers(...observers: readonly Observer[]): Observer {
  const safe = observers.map((observer) => toSafeObserver(observer));
  const combined: Record<string, (event: never) => void> = {};
  for (const name of hookNames) {
    combined[name] = (event) => {
      for (const observer of safe) observer[name](event);
    };
  }
  return combined;
}
