import type { EventParser } from './event-parser.js';
import type { Logger } from './logger.js';
import type { StartOptions } from './transient-consumer.js';
import type { TransportObserver } from './transport-observer.js';

/**
 * What a handler found, inside its read-view transaction:
 * - `applied` — the event's version was the next one; the change is committed;
 * - `duplicate` — that version (or a later one) is already there: nothing to do;
 * - `early` — its predecessor is not there yet: nothing was written; try later.
 */
export type ProjectionOutcome = 'applied' | 'duplicate' | 'early';

export interface ProjectionContext {
  /** Aborts when the handler's time is up or the projector closes: roll back. */
  readonly signal: AbortSignal;
  /** 1 on the first delivery of the event; grows with each retry. */
  readonly attempt: number;
  /** The broker delivered this copy before (a replica crashed before its ack). */
  readonly redelivered: boolean;
  readonly routingKey: string;
}

/** Anything with a `type` to pick its handler by. */
export interface TypedEvent {
  readonly type: string;
}

/**
 * One handler per event type. Each compares the event's version with the
 * stored one and writes in the same transaction, so competing replicas and
 * redeliveries leave the read view right; it resolves only after the commit.
 * A throw is a failure, retried like `early`.
 */
export type ProjectionHandlers<E extends TypedEvent> = {
  readonly [K in E['type']]: (
    event: Extract<E, { readonly type: K }>,
    context: ProjectionContext,
  ) => ProjectionOutcome | PromiseLike<ProjectionOutcome>;
};

/** What every projector is built from, on the broker or on the in-process bus. */
export interface ProjectorOptions<E extends TypedEvent> {
  /** The durable queue shared by every replica (competing consumers). */
  readonly queue: string;
  /**
   * Topic patterns the queue is bound with.
   * @default ['#']
   */
  readonly bindingKeys?: readonly string[];
  readonly parse: EventParser<E>;
  readonly handlers: ProjectionHandlers<E>;
  /**
   * Events with the same key are handled one at a time, in delivery order
   * (e.g. `(event) => event.orderId`); different keys run side by side, up to
   * `prefetch`.
   * @default () => '' — one at a time
   */
  readonly orderKey?: (event: E) => string;
  /**
   * The waits before each retry of an event that came `early` or whose
   * handler failed; after the last one it is dead-lettered. Its length is the
   * number of retries, so an event is tried `retryDelaysMs.length + 1` times.
   * @default [50, 250, 1000, 5000]
   */
  readonly retryDelaysMs?: readonly number[];
  /**
   * A handler still running after this long has its signal aborted and
   * counts as failed. Minimum: 1.
   * @default 30000
   */
  readonly handlerTimeoutMs?: number;
  /**
   * Deliveries held (and handled side by side, by `orderKey`) at once. Minimum: 1.
   * @default 16
   */
  readonly prefetch?: number;
  readonly observer?: TransportObserver;
  /** @default a silent logger */
  readonly logger?: Logger;
}

export interface ProjectorCloseOptions {
  /**
   * Bounds the wait for the handlers in flight. When it aborts, their
   * deliveries are left unacknowledged, and the broker hands them to another
   * replica (or to this one, later): at-least-once, never lost.
   */
  readonly signal?: AbortSignal;
}

/**
 * The read side the gate waits for: at-least-once from a durable queue,
 * acknowledging only after the handler's transaction commits; duplicates
 * ignored, early versions retried with a bound, and dead-lettered after the
 * last retry — never lost, never spinning.
 */
export interface Projector {
  readonly consuming: boolean;
  start(options?: StartOptions): Promise<void>;
  /** Stops taking deliveries, waits for the handlers in flight, then closes. Idempotent. */
  close(options?: ProjectorCloseOptions): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A message that could not be projected, kept in the dead-letter queue. */
export interface DeadLetter {
  readonly routingKey: string;
  readonly body: Uint8Array;
  readonly attempts: number;
  readonly reason: string;
}
