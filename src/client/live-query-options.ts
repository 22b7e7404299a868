import type { TypedDocumentNode, OperationVariables } from './document.js';

export interface LiveQueryOptions<
  TData,
  TVariables extends OperationVariables,
  TPoke,
  TPokeVariables extends OperationVariables,
> {
  /** The authoritative query: fetched once connected, after every reconnect, and on pokes. */
  readonly query: TypedDocumentNode<TData, TVariables>;
  readonly variables: TVariables;
  /** The subscription whose every event is a poke, e.g. `ordersChanged(companyId)`. */
  readonly pokes: TypedDocumentNode<TPoke, TPokeVariables>;
  readonly pokeVariables: TPokeVariables;
  /**
   * Whether `data` already shows what `poke` announces (say, the poked
   * order at the poked version or newer): then that poke's refetch is
   * skipped. Asked for a poke that arrives while no fetch is running, and,
   * for the pokes that arrived during a fetch, against that fetch's answer.
   * Return false when unsure, as for a resync poke. A throw counts as false.
   * @default () => false — every poke refetches
   */
  readonly isFresh?: (poke: TPoke, data: TData) => boolean;
  /**
   * A fetch's answer may predate a poke that arrived while it ran (and that
   * `isFresh` does not show it covers): it is held back, since the refetch
   * that poke asked for follows at once. This many answers in a row at most;
   * then one is shown anyway, so that a view under a steady stream of pokes
   * still moves. 0 shows every answer. Minimum: 0.
   * @default 3
   */
  readonly maxHeldResults?: number;
  /**
   * Every poke, as the subscription delivered it, before its refetch is
   * decided (`isFresh`). A throw goes to `onError`; the refetch happens all the same.
   */
  readonly onPoke?: (poke: TPoke) => void;
  /** Every result shown: the first, after each reconnect, and after pokes. A throw goes to `onError`. */
  readonly onData?: (data: TData, update: LiveQueryUpdate) => void;
  /** Every change of `status`. A throw goes to `onError`. */
  readonly onStatus?: (status: LiveQueryStatus) => void;
  /**
   * A query answered with GraphQL errors (`OperationError`; the next poke
   * tries again), the subscription refused (`OperationError`; the live
   * query has failed), or a callback threw. A throw here is ignored.
   */
  readonly onError?: (error: Error) => void;
  /** Disposes the live query when it aborts. */
  readonly signal?: AbortSignal;
}

/**
 * - `connecting`: before the first connection.
 * - `live`: subscribed, and the fetch made since is shown.
 * - `reconnecting`: the connection was lost; `data` may be out of date until `live` again.
 * - `failed`: the server refused the subscription, or the client gave up; see `error`.
 * - `disposed`.
 */
export type LiveQueryStatus = 'connecting' | 'live' | 'reconnecting' | 'failed' | 'disposed';

/** Why a result was fetched. */
export type FetchReason = 'connected' | 'reconnected' | 'poke' | 'refetch';

export interface LiveQueryUpdate {
  readonly reason: FetchReason;
  /**
   * The answer's `extensions`, when it had any: after pokes with read-after
   * tokens, `pokegate.waitedMs` (how long the server waited to show them) and
   * `pokegate.stale: true` when it could not wait long enough.
   */
  readonly extensions?: Readonly<Record<string, unknown>>;
}

/** Counters since the live query started. */
export interface LiveQueryStats {
  /** Pokes received. */
  readonly pokes: number;
  /** Queries sent. */
  readonly fetches: number;
  /** Pokes that started no fetch: one was running, and they queued (at most one) behind it. */
  readonly coalesced: number;
  /** Pokes whose refetch `isFresh` skipped. */
  readonly fresh: number;
  /** Answers held back because a poke arrived while they were fetched. */
  readonly held: number;
  /**
   * Answers the server marked `stale` (it could not show every read-after
   * token within its budget); each is shown, and fetched again with the same
   * tokens, up to 3 times in a row.
   */
  readonly stale: number;
}

export interface LiveQuery<TData> extends Disposable {
  /** The latest result shown; undefined until the first fetch answers. */
  readonly data: TData | undefined;
  readonly status: LiveQueryStatus;
  /** Why the live query failed, when `status` is `failed`. */
  readonly error: Error | undefined;
  readonly stats: LiveQueryStats;
  /**
   * Fetches again, as a poke that `isFresh` cannot skip would. Does nothing
   * while disconnected: the reconnection fetches anyway.
   */
  refetch(): void;
  /**
   * Resolves once the live query is `live` (at once if it is): subscribed,
   * and the fetch made since shown, so any change from now on pokes it.
   * Rejects with `error` when it fails, with a `DisposedError` when it is
   * disposed first, and with the signal's reason when `signal` aborts.
   */
  whenLive(options?: { readonly signal?: AbortSignal }): Promise<void>;
  /** Unsubscribes; no callback runs after it. Idempotent. */
  dispose(): void;
}
