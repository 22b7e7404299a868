import type { Registry } from 'pokegate';
import type { Order, OrderChange } from './orders/types.js';
import type { OrderWriter } from './orders/writer.js';
import type { Principal } from './auth.js';

/** What the resolvers read: the service's own read view. */
export interface OrderReader {
  order(id: string, options?: { signal?: AbortSignal }): Promise<Order | null>;
  orders(companyId: string, options?: { signal?: AbortSignal }): Promise<readonly Order[]>;
}

export interface GraphQLContext {
  readonly principal: Principal;
  readonly reader: OrderReader;
  readonly writer: OrderWriter;
  readonly ordersChanged: Registry<OrderChange>;
  /** Aborts when the request or the socket goes away. */
  readonly signal?: AbortSignal;
}
