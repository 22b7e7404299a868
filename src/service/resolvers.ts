import { GraphQLError } from 'graphql';
import type { Resolvers } from './generated/resolvers.js';
import { canAccessCompany } from './auth.js';
import type { GraphQLContext } from './context.js';
import { resyncPoke } from './orders/types.js';
import { OrderNotWritableError } from './orders/writer.js';
import { PublisherBufferFullError, TransportClosedError } from 'pokegate';
import { refreshSession } from './session-refresh.js';

/** A GraphQL error for this operation, and no data: the documented answer to a company outside the token. */
function authorize(context: GraphQLContext, companyId: string): void {
  if (!canAccessCompany(context.principal, companyId)) {
    throw new GraphQLError(
      companyId === '*'
        ? 'Forbidden: the "*" view needs an admin token'
        : `Forbidden: no access to company "${companyId}"`,
      { extensions: { code: 'FORBIDDEN' } },
    );
  }
}

function notFound(orderId: string): GraphQLError {
  return new GraphQLError(`Order "${orderId}" not found`, { extensions: { code: 'NOT_FOUND' } });
}

/** The owner's ledger, not the lagging read view, says which company an order belongs to. */
async function ownedOrder(context: GraphQLContext, id: string): Promise<{ id: string; companyId: string }> {
  const companyId = await context.writer.companyOf(id);
  if (companyId === null) throw notFound(id);
  authorize(context, companyId);
  return { id, companyId };
}

/** What a failed write tells the client: a missing order, or a broker it cannot reach now. */
async function write<T>(orderId: string | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof OrderNotWritableError && orderId !== undefined) throw notFound(orderId);
    if (error instanceof TransportClosedError || error instanceof PublisherBufferFullError) {
      throw new GraphQLError(`Cannot publish the change now: ${error.message}`, {
        extensions: { code: 'UNAVAILABLE' },
      });
    }
    throw error;
  }
}

export const resolvers: Resolvers = {
  Query: {
    async order(_, { id }, context) {
      const order = await context.reader.order(
        id,
        context.signal === undefined ? {} : { signal: context.signal },
      );
      if (order === null) return null;
      authorize(context, order.companyId);
      return order;
    },
    orders(_, { companyId }, context) {
      authorize(context, companyId);
      return context.reader.orders(companyId, context.signal === undefined ? {} : { signal: context.signal });
    },
  },
  Mutation: {
    placeOrder(_, { companyId, total }, context) {
      authorize(context, companyId);
      if (companyId === '*')
        throw new GraphQLError('"*" is not a company', { extensions: { code: 'BAD_USER_INPUT' } });
      if (!Number.isFinite(total) || total < 0) {
        throw new GraphQLError(`Expected total to be a finite number ≥ 0, got ${total}`, {
          extensions: { code: 'BAD_USER_INPUT' },
        });
      }
      return write(undefined, () => context.writer.placeOrder(companyId, total));
    },
    async setOrderStatus(_, { id, status }, context) {
      const order = await ownedOrder(context, id);
      return write(id, () => context.writer.setOrderStatus(order, status));
    },
    async removeOrder(_, { id }, context) {
      const order = await ownedOrder(context, id);
      return write(id, () => context.writer.removeOrder(order));
    },
    refreshSession: (_, { token }, context) => refreshSession(token, context),
  },
  Subscription: {
    ordersChanged: {
      async subscribe(_, { companyId }, context) {
        authorize(context, companyId);
        // A renewal whose token no longer allows the company ends this subscription.
        context.session?.guard(canAccessCompany, companyId);
        const options = context.signal === undefined ? {} : { signal: context.signal };
        // Bound first (interest routing): a subscriber counted is one the broker routes to.
        // A new binding: the client's first read may predate it, so it reads again once routed.
        const waited = await context.ordersChanged.prepare(companyId, options);
        return context.ordersChanged.addReceiver(
          companyId,
          waited ? { ...options, first: resyncPoke(companyId) } : options,
        );
      },
      resolve: (change: unknown) => change as never,
    },
  },
};
