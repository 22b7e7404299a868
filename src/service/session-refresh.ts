import { GraphQLError } from 'graphql';
import { Counter, type Registry as PromRegistry } from 'prom-client';
import { SessionRenewalError } from 'pokegate/graphql';
import type { Principal } from './auth.js';
import type { GraphQLContext, SessionRefreshOutcome } from './context.js';
import type { Session } from './generated/resolvers.js';

/** Counts each `refreshSession` by outcome, in `register`. */
export function createSessionRefreshCounter(
  register: PromRegistry,
): (outcome: SessionRefreshOutcome) => void {
  const total = new Counter({
    name: 'pokegate_session_refresh_total',
    help: 'refreshSession mutations by outcome: renewed, narrowed (some subscriptions ended), rejected',
    labelNames: ['outcome'],
    registers: [register],
  });
  for (const outcome of ['renewed', 'narrowed', 'rejected'] as const) total.inc({ outcome }, 0);
  return (outcome) => total.inc({ outcome });
}

/** What a token without `exp` reports as its expiry: `expiresAt` is a non-null string. */
const never = '9999-12-31T23:59:59.999Z';

/**
 * `refreshSession(token)`: renews the principal of the WebSocket connection
 * the mutation came over. Over HTTP (or SSE) there is no connection: an error
 * with `extensions.code: "BAD_REQUEST"`. A refused token has closed the
 * connection with 4403 already; the error answered then reaches no one.
 */
export async function refreshSession(token: string, context: GraphQLContext): Promise<Session> {
  const { session, sessionRefreshed } = context;
  if (session === undefined) {
    sessionRefreshed('rejected');
    throw new GraphQLError(
      'refreshSession renews the WebSocket connection it is sent over: send it over one, not over HTTP',
      { extensions: { code: 'BAD_REQUEST' } },
    );
  }
  try {
    const { principal, outcome } = await session.renew(`Bearer ${token}`);
    sessionRefreshed(outcome);
    return toSession(principal);
  } catch (error) {
    if (!(error instanceof SessionRenewalError)) throw error;
    sessionRefreshed('rejected');
    throw new GraphQLError(error.message, { extensions: { code: 'FORBIDDEN' } });
  }
}

function toSession(principal: Principal): Session {
  return {
    expiresAt: principal.expiresAt === undefined ? never : new Date(principal.expiresAt).toISOString(),
    companies: [...principal.companies],
    admin: principal.admin,
  };
}
