import type { OrdersChangedSubscription, OrdersQuery } from '../generated/operations.js';

/**
 * Whether the orders shown already reflect a poke: the poked order at the
 * poked version or newer (or gone, for a removal). A resync poke (no order)
 * is never fresh: anything of the company may have changed.
 */
export function ordersFresh(poke: OrdersChangedSubscription, data: OrdersQuery): boolean {
  const { orderId, removed, version } = poke.ordersChanged;
  if (orderId === null) return false;
  const order = data.orders.find((candidate) => candidate.id === orderId);
  if (removed) return order === undefined;
  return version !== null && order !== undefined && order.version >= version;
}
