import type { Registry } from 'pokegate';
import type { ConnectionSession } from 'pokegate/graphql';
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
  /** The WebSocket connection the operation came over: absent over HTTP and SSE. */
  readonly session?: ConnectionSession<Principal>;
  /** Counts a `refreshSession` by outcome. */
  readonly sessionRefreshed: (outcome: SessionRefreshOutcome) => void;
  /** Aborts when the request or the socket goes away. */
  readonly signal?: AbortSignal;
}

/** `pokegate_session_refresh_total{outcome}`: `renewed`, `narrowed` (some subscriptions ended), `rejected`. */
export type SessionRefreshOutcome = 'renewed' | 'narrowed' | 'rejected';
