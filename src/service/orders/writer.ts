import { randomUUID } from 'node:crypto';
import type { OrderEvent, OrderStatus } from './events.js';
import type { Publisher } from 'pokegate';
import type { OrderLedger } from './owner-ledger.js';
import type { WriteReceipt } from './types.js';

/** What the mutations write: the owning service's side, never the read view. */
export interface OrderWriter {
  placeOrder(companyId: string, total: number): Promise<WriteReceipt>;
  setOrderStatus(order: { id: string; companyId: string }, status: OrderStatus): Promise<WriteReceipt>;
  removeOrder(order: { id: string; companyId: string }): Promise<WriteReceipt>;
  /** The company an order belongs to, from the owner's ledger, or null if unknown. */
  companyOf(orderId: string): Promise<string | null>;
}

export interface OrderWriterOptions {
  readonly ledger: OrderLedger;
  readonly publisher: Publisher<OrderEvent>;
  /** @default randomUUID */
  readonly newId?: () => string;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * The mutations' side: they stand in for the owning service, so they publish
 * an event (confirmed by the broker) and never write the read view.
 */
export function createOrderWriter(options: OrderWriterOptions): OrderWriter {
  const { ledger, publisher, newId = randomUUID, now = () => new Date() } = options;

  const emit = async (event: OrderEvent): Promise<WriteReceipt> => {
    await publisher.publish(event);
    return {
      eventId: event.eventId,
      orderId: event.orderId,
      companyId: event.companyId,
      version: event.version,
    };
  };
  const base = (orderId: string, companyId: string, version: number) => ({
    eventId: newId(),
    orderId,
    companyId,
    version,
    occurredAt: now().toISOString(),
  });
  const known = <T>(orderId: string, value: T | null): T => {
    if (value === null) throw new OrderNotWritableError(orderId);
    return value;
  };

  return {
    async placeOrder(companyId, total) {
      const orderId = newId();
      const receipt = await ledger.next(orderId, { companyId }, (version) =>
        emit({
          ...base(orderId, companyId, version),
          type: 'OrderPlaced',
          data: { total, status: 'PLACED' },
        }),
      );
      return known(orderId, receipt);
    },
    async setOrderStatus(order, status: OrderStatus) {
      const receipt = await ledger.next(order.id, {}, (version, companyId) =>
        emit({ ...base(order.id, companyId, version), type: 'OrderStatusChanged', data: { status } }),
      );
      return known(order.id, receipt);
    },
    async removeOrder(order) {
      const receipt = await ledger.next(order.id, { remove: true }, (version, companyId) =>
        emit({ ...base(order.id, companyId, version), type: 'OrderRemoved' }),
      );
      return known(order.id, receipt);
    },
    companyOf: (orderId) => ledger.companyOf(orderId),
  };
}

/** The order is unknown to the owner, or already removed. */
export class OrderNotWritableError extends Error {
  override name = 'OrderNotWritableError';
  constructor(orderId: string) {
    super(`Order "${orderId}" does not exist or is removed`);
  }
}
