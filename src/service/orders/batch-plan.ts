import type { OrderEvent } from './events.js';
import type { ProjectionOutcome } from 'pokegate';
import { InvalidOrderEventError } from './errors.js';
import type { OrderStatus } from './types.js';

// A batch of orders events, applied in JavaScript to the rows the batch's
// transaction locked: per order, versions in order, whatever order they were
// delivered in. What comes out is written back in one set-based statement.

/** One event's result: an outcome, or the error of an event that contradicts the order's history. */
export type ApplyResult = ProjectionOutcome | InvalidOrderEventError;

/** An order's row as locked before the batch. */
export interface StoredOrder {
  readonly id: string;
  readonly company_id: string;
  readonly status: OrderStatus;
  readonly total: number;
  readonly version: number;
  readonly removed: boolean;
}

/** An order's row after the batch, and the version it must still have when written. */
export interface OrderWrite {
  readonly id: string;
  readonly companyId: string;
  status: OrderStatus;
  total: number;
  version: number;
  removed: boolean;
  /** Set only for a placement (`expected` 0); an update keeps the stored one. */
  readonly placedAt: string | null;
  updatedAt: string;
  /** The stored version; 0 when the batch places the order. */
  readonly expected: number;
}

export interface BatchPlan {
  /** One per event, in the batch's order. */
  readonly results: ApplyResult[];
  /** One per order the batch changes. */
  readonly writes: OrderWrite[];
}

/**
 * The event-level rule that needs no row: version 1 is the placement and
 * nothing else is. The zod schema at the edge cannot say this.
 */
export function placementError(event: OrderEvent): InvalidOrderEventError | undefined {
  if (event.type === 'OrderPlaced' && event.version !== 1) {
    return new InvalidOrderEventError(event, 'an order is placed at version 1');
  }
  if (event.type !== 'OrderPlaced' && event.version === 1) {
    return new InvalidOrderEventError(event, 'version 1 must be the OrderPlaced event');
  }
  return undefined;
}

/** The ids of the orders the valid events of `events` touch, sorted (the lock order). */
export function orderIds(events: readonly OrderEvent[]): string[] {
  const ids = new Set<string>();
  for (const event of events) if (placementError(event) === undefined) ids.add(event.orderId);
  return [...ids].sort();
}

export function planBatch(
  events: readonly OrderEvent[],
  stored: ReadonlyMap<string, StoredOrder>,
): BatchPlan {
  const results: ApplyResult[] = [];
  const byOrder = new Map<string, number[]>();
  events.forEach((event, i) => {
    const invalid = placementError(event);
    if (invalid !== undefined) {
      results[i] = invalid;
      return;
    }
    const indexes = byOrder.get(event.orderId);
    if (indexes === undefined) byOrder.set(event.orderId, [i]);
    else indexes.push(i);
  });
  const writes: OrderWrite[] = [];
  for (const [orderId, indexes] of byOrder) {
    const at = (i: number) => events[i] as OrderEvent;
    // Versions in order; a duplicate version keeps its delivery order.
    indexes.sort((a, b) => at(a).version - at(b).version || a - b);
    const current = stored.get(orderId);
    let row: OrderWrite | undefined =
      current === undefined
        ? undefined
        : {
            id: orderId,
            companyId: current.company_id,
            status: current.status,
            total: current.total,
            version: current.version,
            removed: current.removed,
            placedAt: null,
            updatedAt: '',
            expected: current.version,
          };
    let changed = false;
    for (const i of indexes) {
      const event = at(i);
      if (row === undefined) {
        // By the placement rule, anything but OrderPlaced here is a later version.
        if (event.type !== 'OrderPlaced') {
          results[i] = 'early';
          continue;
        }
        row = {
          id: orderId,
          companyId: event.companyId,
          status: event.data.status,
          total: event.data.total,
          version: 1,
          removed: false,
          placedAt: event.occurredAt,
          updatedAt: event.occurredAt,
          expected: 0,
        };
      } else if (event.version <= row.version) {
        results[i] = 'duplicate';
        continue;
      } else if (event.version > row.version + 1) {
        results[i] = 'early';
        continue;
      } else if (row.companyId !== event.companyId) {
        results[i] = new InvalidOrderEventError(event, `the order belongs to company "${row.companyId}"`);
        continue;
      } else {
        if (event.type === 'OrderStatusChanged') {
          row.status = event.data.status;
          row.total = event.data.total ?? row.total;
        }
        // A removal is final: a later version still advances the version (so
        // the events after it are not stuck as early) but never brings the order back.
        row.removed ||= event.type === 'OrderRemoved';
        row.version = event.version;
        row.updatedAt = event.occurredAt;
      }
      results[i] = 'applied';
      changed = true;
    }
    if (changed && row !== undefined) writes.push(row);
  }
  return { results, writes };
}
