import { PokegateError } from 'pokegate';
import type { OrderEvent } from './events.js';

/**
 * An orders event that contradicts the order's history (a status change
 * before the order was placed, a second placement, another company). Nothing
 * was written; retrying it will not help, so the projector dead-letters it
 * after its retries.
 */
export class InvalidOrderEventError extends PokegateError {
  override name = 'InvalidOrderEventError';
  constructor(event: OrderEvent, reason: string) {
    super(
      `Cannot apply ${event.type} ${event.eventId} (order "${event.orderId}", version ${event.version}): ${reason}`,
    );
  }
}

/** Thrown by every read-view call once `close()` has been called. */
export class ReadViewClosedError extends PokegateError {
  override name = 'ReadViewClosedError';
  constructor(backend: string) {
    super(`The read view (${backend}) is closed`);
  }
}

/** The read view could not reach its database or create its schema at start. */
export class ReadViewStartError extends PokegateError {
  override name = 'ReadViewStartError';
  constructor(target: string, cause: Error) {
    super(`The read view could not start on ${target}: ${cause.message}`, { cause });
  }
}
