import { randomUUID } from 'node:crypto';
import type { OrderEvent } from '../../src/service/orders/events.js';
import type { BatchProjection, ProjectionOutcome, ProjectionContext } from 'pokegate';

/** The poke of the tests: `orderId` null for a resync. */
export interface Poke {
  readonly companyId: string;
  readonly orderId: string | null;
  readonly version: number | null;
}

export function resyncPoke(companyId: string): Poke {
  return { companyId, orderId: null, version: null };
}

let counter = 0;

/** A valid `OrderPlaced` (or the given type), version 1 unless told. */
export function orderEvent(
  fields: { companyId?: string; orderId?: string; version?: number; type?: OrderEvent['type'] } = {},
): OrderEvent {
  const base = {
    eventId: randomUUID(),
    companyId: fields.companyId ?? 'c1',
    orderId: fields.orderId ?? `o${++counter}`,
    version: fields.version ?? 1,
    occurredAt: new Date().toISOString(),
  };
  switch (fields.type ?? 'OrderPlaced') {
    case 'OrderPlaced':
      return { ...base, type: 'OrderPlaced', data: { total: 12.5, status: 'PLACED' } };
    case 'OrderStatusChanged':
      return { ...base, type: 'OrderStatusChanged', data: { status: 'PAID' } };
    case 'OrderRemoved':
      return { ...base, type: 'OrderRemoved', data: {} };
  }
}

export interface Applied {
  readonly orderId: string;
  readonly version: number;
}

/**
 * A read view in memory, with the projection a service would write: apply a
 * version only when it is the next one, each event of a batch in turn.
 */
export class MemoryReadView {
  readonly versions = new Map<string, number>();
  readonly applied: Applied[] = [];
  readonly contexts: ProjectionContext[] = [];
  /** Runs before the write; a test can make it throw or wait. */
  before: (event: OrderEvent, context: ProjectionContext) => void | Promise<void> = () => undefined;
  /** Runs after the write, before the projection resolves ("before the ack"). */
  after: (event: OrderEvent) => void | Promise<void> = () => undefined;

  /** The batches projected, by their sizes. */
  readonly batches: number[] = [];

  readonly project: BatchProjection<OrderEvent> = async (events, context) => {
    this.batches.push(events.length);
    const results: ProjectionOutcome[] = [];
    for (const event of events) results.push(await this.#apply(event, context));
    return results;
  };

  async #apply(event: OrderEvent, context: ProjectionContext): Promise<ProjectionOutcome> {
    this.contexts.push(context);
    await this.before(event, context);
    const current = this.versions.get(event.orderId) ?? 0;
    if (event.version <= current) return 'duplicate';
    if (event.version > current + 1) return 'early';
    this.versions.set(event.orderId, event.version);
    this.applied.push({ orderId: event.orderId, version: event.version });
    await this.after(event);
    return 'applied';
  }
}
