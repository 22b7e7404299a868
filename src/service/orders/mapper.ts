import type { Registry } from 'pokegate';
import type { OrderEvent } from './events.js';
import { route, type Mapper } from 'pokegate';
import type { OrderTokens } from './read-after-token.js';
import type { ReadView } from './read-view.js';
import type { OrderChange } from './types.js';

/**
 * Routes each orders event to the subscribers of its company. The producer
 * is the visibility check: it pokes only once `order(id)` on this replica
 * returns the event's version or a later one (or null, removed). Each poke
 * carries the read-after token of what it announces, signed once per event
 * when a subscriber first selects it.
 */
export function createOrdersMapper(
  ordersChanged: Registry<OrderChange>,
  readView: Pick<ReadView, 'orderState'>,
  tokens: Pick<OrderTokens, 'sign'>,
): Mapper<OrderEvent> {
  return (event) => {
    const { companyId, orderId, version } = event;
    return [
      route(
        ordersChanged,
        companyId,
        async ({ signal }) => {
          const state = await readView.orderState(orderId, { signal, atLeast: version });
          // The read view's own version: at least the event's, and what a refetch will return.
          if (state === null || state.version < version) return undefined;
          const { removed, version: visible } = state;
          // Signed on first read, once for every subscriber: a selection without `token` costs no HMAC.
          let token: string | undefined;
          return {
            companyId,
            orderId,
            removed,
            version: visible,
            get token() {
              return (token ??= tokens.sign({ companyId, orderId, version: visible }));
            },
          };
        },
        // Versions only grow per order: the newer event being visible implies the older one is,
        // and the projector's progress reports name the version a waiting poke needs.
        { coalesceKey: orderId, version, occurredAt: Date.parse(event.occurredAt) },
      ),
    ];
  };
}
