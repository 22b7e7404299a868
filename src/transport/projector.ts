import type { EventParser } from './event-parser.js';
import type { Logger } from '../common/logger.js';
import type { StartOptions } from './transient-consumer.js';
import type { TransportObserver } from './transport-observer.js';

/**
 * What the projection found for one event, inside the batch's transaction:
 * - `applied` — the event's version was the next one; the change is committed;
 * - `duplicate` — that version (or a later one) is already there: nothing to do;
 * - `early` — its predecessor is not there yet: nothing was written; try later.
 */
export type ProjectionOutcome = 'applied' | 'duplicate' | 'early';

/**
 * One event's result: an outcome, or an `Error` for an event that failed on
 * its own (e.g. it contradicts what is stored) while the rest of its batch
 * committed. A failure is retried like `early`, then dead-lettered.
 */
export type ProjectionResult = ProjectionOutcome | Error;

export interface ProjectionContext {
  /** Aborts when the batch's time is up or the projector closes: roll back. */
  readonly signal: AbortSignal;
}

/** Anything with a `type`, e.g. to pick a handler by. */
export interface TypedEvent {
  readonly type: string;
}

/**
 * Projects a batch of events, in delivery order, and resolves with one result
 * per event, in the same order, only after the batch's commit. It compares
 * each event's version with the stored one and writes in the same
 * transaction, so competing replicas and redeliveries leave the read view
 * right; versions of one key may arrive in any order within a batch. A
 * throw fails the whole batch: the projector splits it and projects the
 * halves, down to the one event that fails, so a poison message cannot fail
 * its neighbours.
 */
export type BatchProjection<E extends TypedEvent> = (
  events: readonly E[],
  context: ProjectionContext,
) => PromiseLike<readonly ProjectionResult[]>;

/** The default of `retryDelaysMs`. */
export const defaultRetryDelaysMs: readonly number[] = Object.freeze([50, 250, 1_000, 5_000]);

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
  readonly project: BatchProjection<E>;
  /**
   * The waits before each retry of an event that came `early` or failed;
   * after the last one it is dead-lettered. Its length is the number of
   * retries, so an event is tried `retryDelaysMs.length + 1` times.
   * @default [50, 250, 1000, 5000]
   */
  readonly retryDelaysMs?: readonly number[];
  /**
   * A batch's projection still running after this long has its signal
   * aborted, and the batch is split as for any failure. Minimum: 1.
   * @default 30000
   */
  readonly projectTimeoutMs?: number;
  /**
   * Deliveries the broker hands over before the first is acknowledged: the
   * window that the next batch accumulates in while one is projected, and
   * what a fair batch (`tenantOf`) chooses from. At most this many bodies
   * are held in the process. Minimum: 1.
   * @default 2000
   */
  readonly prefetch?: number;
  /**
   * The most events in one batch. When the projector is idle, a batch starts
   * at once with whatever has arrived (no timer waits for more); while it is
   * projected, the next one accumulates, up to this size. Minimum: 1.
   * @default 250
   */
  readonly maxBatchSize?: number;
  /**
   * The tenant an event belongs to (company, user…). When more events wait
   * than one batch takes, each batch takes them from every tenant in turns:
   * a tenant's flood delays another tenant's event by about one batch, not
   * by the length of the flood — within the `prefetch` window, which bounds
   * what the projector can see. One tenant's events keep their delivery
   * order, so keep every event of one entity under one tenant.
   * @default every event under one tenant: batches in delivery order
   */
  readonly tenantOf?: (event: E) => string;
  readonly observer?: TransportObserver;
  /** @default a silent logger */
  readonly logger?: Logger;
}

export interface ProjectorCloseOptions {
  /**
   * Bounds the wait for the batch in flight. When it aborts, its
   * deliveries are left unacknowledged, and the broker hands them to another
   * replica (or to this one, later): at-least-once, never lost.
   */
  readonly signal?: AbortSignal;
}

/**
 * The read side the gate waits for: at-least-once from a durable queue, in
 * batches, acknowledging only after the batch's transaction commits; duplicates
 * ignored, early versions retried with a bound, and dead-lettered after the
 * last retry — never lost, never spinning.
 */
export interface Projector {
  readonly consuming: boolean;
  start(options?: StartOptions): Promise<void>;
  /** Stops taking deliveries, waits for the batch in flight, then closes. Idempotent. */
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
