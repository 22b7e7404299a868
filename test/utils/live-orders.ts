import type { ordersFresh } from '../../src/service/demo/freshness.js';
import {
  OrdersChangedDocument,
  OrdersDocument,
  type OrdersQuery,
} from '../../src/service/generated/operations.js';
import type { FetchReason, LiveClient, LiveQuery, LiveQueryStatus } from 'pokegate/client';

/** A live query of a company's orders, and everything it reported. */
export interface WatchedOrders {
  readonly live: LiveQuery<OrdersQuery>;
  /** Each answer's order ids and why it was fetched, in order. */
  readonly updates: { readonly ids: string[]; readonly reason: FetchReason }[];
  /** Each answer, in order. */
  readonly answers: OrdersQuery[];
  readonly statuses: LiveQueryStatus[];
  readonly errors: Error[];
  /** Whether the latest answer shows `orderId`. */
  readonly shows: (orderId: string) => boolean;
}

/**
 * The reference service's live query as the demo page runs it: `orders`
 * refetched on each `ordersChanged` poke of `companyId`; with `isFresh`, a
 * poke the answer already covers costs no refetch.
 */
export function watchOrders(
  client: LiveClient,
  companyId: string,
  options: { readonly isFresh?: typeof ordersFresh } = {},
): WatchedOrders {
  const updates: { ids: string[]; reason: FetchReason }[] = [];
  const answers: OrdersQuery[] = [];
  const statuses: LiveQueryStatus[] = [];
  const errors: Error[] = [];
  const live = client.liveQuery({
    query: OrdersDocument,
    variables: { companyId },
    pokes: OrdersChangedDocument,
    pokeVariables: { companyId },
    ...(options.isFresh === undefined ? {} : { isFresh: options.isFresh }),
    onData: (data, { reason }) => {
      answers.push(data);
      updates.push({ ids: data.orders.map((order) => order.id), reason });
    },
    onStatus: (status) => statuses.push(status),
    onError: (error) => errors.push(error),
  });
  const shows = (orderId: string): boolean =>
    live.data?.orders.some((order) => order.id === orderId) === true;
  return { live, updates, answers, statuses, errors, shows };
}
