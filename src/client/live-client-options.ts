import type { BackoffOptions } from '../common/backoff.js';
import type { Clock } from '../common/clock.js';
import type { OperationVariables, TypedDocumentNode } from './document.js';
import type { CloseInfo } from './errors.js';
import type { LiveQuery, LiveQueryOptions } from './live-query-options.js';
import type { WebSocketConstructor } from './session.js';
import type { RenewalEvent, SessionRenewalOptions } from './session-renewal.js';

export interface LiveClientOptions {
  /**
   * The graphql-transport-ws endpoint, e.g. `wss://example.com/graphql`; a
   * function is called before each connection attempt.
   */
  readonly url: string | (() => string | Promise<string>);
  /**
   * A hint for the load balancer: the tenant (say, the company) this client
   * mostly subscribes to, added to the WebSocket URL as the `tenant` query
   * parameter (the URL otherwise unchanged; see `withTenantHint` for SSE).
   * A balancer that hashes by it brings one tenant's subscribers onto few
   * replicas, which then receive only that tenant's events. Only a hint: the
   * server ignores it and serves any tenant the token allows. A function is
   * called before each connection attempt; a throw counts as a failed attempt.
   * @default undefined — no parameter, the URL as given
   */
  readonly tenant?: string | (() => string | undefined);
  /**
   * The `connection_init` payload, e.g. `{ authorization: 'Bearer <jwt>' }`.
   * A function is called before each connection attempt, so a reconnect can
   * send a fresh token; a throw counts as a failed attempt.
   * @default undefined — no payload
   */
  readonly connectionParams?:
    | Readonly<Record<string, unknown>>
    | (() => Readonly<Record<string, unknown>> | Promise<Readonly<Record<string, unknown>>>);
  /**
   * The token (a JWT) to connect with, sent in `connection_init` as
   * `authorization: "Bearer <token>"` beside `connectionParams`; called
   * before each connection attempt, and again before the token expires: the
   * client then renews the connection's session in place with the
   * `refreshSession` mutation (see `renewal`), without reconnecting, so no
   * live query refetches. It reads the token's `exp` (and `iat`, against a
   * client clock that runs behind) without verifying it; a token without
   * `exp` is never renewed. When `getToken` throws or the
   * server refuses the renewal, the client reconnects (with a token from
   * `getToken` again), as it does when the server closes an acknowledged
   * connection with 4403 (its token expired), whatever `shouldRetry` says.
   * @default undefined — no token but what `connectionParams` holds, never renewed
   */
  readonly getToken?: () => string | Promise<string>;
  /** When and how `getToken`'s tokens are renewed. @default { marginMs: 30000, jitter: 0.2 } */
  readonly renewal?: SessionRenewalOptions;
  /** Every renewal, done or failed. A throw is ignored. */
  readonly onRenewal?: (event: RenewalEvent) => void;
  /** @default globalThis.WebSocket (browsers; Node.js ≥ 22) */
  readonly webSocketImpl?: WebSocketConstructor;
  /**
   * The wait before each reconnection attempt, growing with each failed one
   * and randomised by `jitter` so that clients dropped together do not
   * return together. The count starts again after a connection the server
   * acknowledged.
   * @default { minDelayMs: 500, maxDelayMs: 15000, factor: 2, jitter: 0.5 }
   */
  readonly retry?: BackoffOptions;
  /**
   * Whether to try again after a connection closed (or failed to open) with
   * `close`. A throw counts as false.
   * @default retries every close but the ones retrying cannot mend: 4400, 4401, 4403 (no, a bad or an expired token), 4406, 4409, 4429, 4500, 4004, 4005, 1002, 1003, 1007, 1009, 1010
   */
  readonly shouldRetry?: (close: CloseInfo) => boolean;
  /**
   * How long the server has to acknowledge `connection_init`; then the
   * socket is closed (4504) and the attempt counts as failed. 0: no limit.
   * Minimum: 0.
   * @default 10000
   */
  readonly connectionAckTimeoutMs?: number;
  /** Every change of `status`. A throw is ignored. */
  readonly onStatus?: (status: ConnectionStatus) => void;
  /** Disposes the client when it aborts. */
  readonly signal?: AbortSignal;
  /** The reconnection waits, and the time to renew a token. @default systemClock */
  readonly clock?: Clock;
  /** The jitter's random numbers in [0, 1), the reconnections' and the renewals'. @default Math.random */
  readonly random?: () => number;
}

/**
 * - `connecting`: before the first connection the server acknowledged.
 * - `connected`.
 * - `reconnecting`: waiting before an attempt, or making it, after a loss.
 * - `failed`: `shouldRetry` refused a close; see `error`.
 * - `disposed`.
 */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'disposed';

export interface RequestOptions {
  /** Gives up waiting (for a connection, then for the answer) when it aborts. */
  readonly signal?: AbortSignal;
}

/**
 * One WebSocket connection to a GraphQL server, kept up, shared by its live
 * queries and requests.
 */
export interface LiveClient extends AsyncDisposable {
  readonly status: ConnectionStatus;
  /** Why the client failed, when `status` is `failed`. */
  readonly error: Error | undefined;
  /**
   * Sends a query or mutation over the connection (waiting for one, if
   * down) and resolves with its data. Rejects with `OperationError` for
   * GraphQL errors, with `ConnectionClosedError` when the connection closes
   * before the answer (never sent again on its own: a mutation may or may
   * not have run), and with the client's `error` once it has failed.
   */
  request<TData, TVariables extends OperationVariables>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
    options?: RequestOptions,
  ): Promise<TData>;
  /** A query kept up to date by the pokes of a subscription; see `LiveQueryOptions`. */
  liveQuery<TData, TVariables extends OperationVariables, TPoke, TPokeVariables extends OperationVariables>(
    options: LiveQueryOptions<TData, TVariables, TPoke, TPokeVariables>,
  ): LiveQuery<TData>;
  /**
   * Disposes every live query, rejects waiting requests, cancels a pending
   * reconnection wait and closes the socket; resolves once it has closed.
   * Idempotent.
   */
  dispose(): Promise<void>;
}

/** Closes that another attempt cannot mend: a bad token, a protocol mismatch, a server bug. */
const fatalCloseCodes: ReadonlySet<number> = new Set([
  4400, 4401, 4403, 4406, 4409, 4429, 4500, 4004, 4005, 1002, 1003, 1007, 1009, 1010,
]);

/** `shouldRetry`'s default: every close but the fatal ones. */
export function retryUnlessFatal(close: CloseInfo): boolean {
  return !fatalCloseCodes.has(close.code);
}

/** `retry`'s defaults: a client reconnects on a scale of seconds, not the gate's milliseconds. */
export const defaultRetry: Required<BackoffOptions> = Object.freeze({
  minDelayMs: 500,
  maxDelayMs: 15_000,
  factor: 2,
  jitter: 0.5,
});
