import type { Registry as PromRegistry } from 'prom-client';
import { createReadAfter, type ReadAfter } from 'pokegate/graphql';
import { createPrometheusReadAfterObserver } from 'pokegate/prometheus';
import { createOrderTokens, type OrderTokens } from './orders/read-after-token.js';
import type { ReadView } from './orders/read-view.js';
import { canAccessCompany } from './auth.js';
import type { GraphQLContext } from './context.js';

export interface OrdersReadAfterOptions {
  /** `AUTH_SECRET`: the token key is derived from it, so every replica verifies every other's tokens. */
  readonly secret: string;
  readonly readView: Pick<ReadView, 'orderState'>;
  /** `READ_AFTER_TIMEOUT_MS`. */
  readonly timeoutMs: number;
  readonly register: PromRegistry;
  /** Called each time a read checks whether its tokens are visible. */
  readonly waiting?: () => void;
}

export interface OrdersReadAfter {
  /** Signs the token of each poke. */
  readonly tokens: OrderTokens;
  /** The plugin, and `notify` for this replica's commit reports (key: the order id). */
  readonly readAfter: ReadAfter;
}

/** Read-after tokens for orders: a token is (company, order, version), visible once `order(id)` here shows it. */
export function createOrdersReadAfter(options: OrdersReadAfterOptions): OrdersReadAfter {
  const { secret, readView, timeoutMs, register, waiting } = options;
  const tokens = createOrderTokens(secret);
  const readAfter = createReadAfter({
    timeoutMs,
    observer: createPrometheusReadAfterObserver({ register }),
    decode: (token: string, context: GraphQLContext) => {
      const { companyId, orderId, version } = tokens.verify(token);
      // Tokens are readable to whoever holds them; only the company's readers may wait on one.
      if (!canAccessCompany(context.principal, companyId)) {
        throw new Error('the token is of a company this caller may not read');
      }
      return { key: orderId, version };
    },
    isVisible: async ({ key, version }, { signal }) => {
      waiting?.();
      const state = await readView.orderState(key, { signal, atLeast: version });
      return state !== null && state.version >= version;
    },
  });
  return { tokens, readAfter };
}
