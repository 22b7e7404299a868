import type { Registry } from '../core/registry.js';
import type { Order, OrderChange, OrderStatus, WriteReceipt } from '../orders/types.js';
import type { Principal } from './auth.js';

/** What the resolvers read: the service's own read view. */
export interface OrderReader {
  order(id: string, options?: { signal?: AbortSignal }): Promise<Order | null>;
  orders(companyId: string, options?: { signal?: AbortSignal }): Promise<readonly Order[]>;
}

/** What the mutations write: the owning service's side, never the read view. */
export interface OrderWriter {
  placeOrder(companyId: string, total: number): Promise<WriteReceipt>;
  setOrderStatus(order: { id: string; companyId: string }, status: OrderStatus): Promise<WriteReceipt>;
  removeOrder(order: { id: string; companyId: string }): Promise<WriteReceipt>;
  /** The company an order belongs to, from the owner's ledger, or null if unknown. */
  companyOf(orderId: string): Promise<string | null>;
}

export interface GraphQLContext {
  readonly principal: Principal;
  readonly reader: OrderReader;
  readonly writer: OrderWriter;
  readonly ordersChanged: Registry<OrderChange>;
  /** Aborts when the request or the socket goes away. */
  readonly signal?: AbortSignal;
}
