import type { SubscribePayload } from 'graphql-ws/client';
import { toError } from '../core/errors.js';
import { guardHook } from '../core/observer.js';
import { expectInteger } from '../core/validate.js';
import { operationLabel, toPayload, type OperationVariables } from './document.js';
import { OperationError } from './errors.js';
import type { FetchReason, LiveQuery, LiveQueryOptions, LiveQueryStatus } from './live-query-options.js';
import { createPendingTokens, withReadAfter } from './read-after-tokens.js';
import type { OperationResult, Session } from './session.js';

/** What the live client calls as its connection comes and goes. */
export interface LiveQueryHost {
  /** The session is usable: subscribe, then fetch. */
  attach(session: Session): void;
  /** The session ended: wait for the next one. */
  detach(): void;
  /** The client gave up: fail with its error. */
  fail(error: Error): void;
  /** The client is disposing: stop, and leave the client's bookkeeping to it. */
  close(): void;
}

interface Fetch {
  readonly session: Session;
  readonly reason: FetchReason;
  /** The read-after tokens it sent. */
  readonly tokens: readonly string[];
}

/** Pokes that arrived during a fetch; `all` once one of them can never be fresh. */
interface Queued {
  pokes: unknown[];
  all: boolean;
  reason: FetchReason;
}

/**
 * Refetches in a row after answers marked `stale` (each waited the server's
 * whole read-after budget); then the view waits for the next poke.
 */
const maxStaleRefetches = 3;

/** Past this many pokes queued behind one fetch, the refetch is not worth checking for freshness. */
const maxQueuedPokes = 64;

export interface LiveQueryContext {
  /** The session now, if connected. */
  readonly session: Session | undefined;
  /** Removes the live query from the client. */
  readonly release: () => void;
  /** The server ended the poke subscription on a live socket: recycle the connection. */
  readonly recycle: (session: Session) => void;
}

/**
 * One live query, made by `LiveClient.liveQuery`: subscribed and fetched on
 * each session the client attaches it to, refetching on pokes with at most
 * one query in flight and one queued.
 */
export function createLiveQuery<
  TData,
  TVariables extends OperationVariables,
  TPoke,
  TPokeVariables extends OperationVariables,
>(
  options: LiveQueryOptions<TData, TVariables, TPoke, TPokeVariables>,
  context: LiveQueryContext,
): LiveQuery<TData> & LiveQueryHost {
  const {
    query,
    variables,
    pokes,
    pokeVariables,
    isFresh = () => false,
    maxHeldResults = 3,
    onData,
    onStatus,
    onError,
    signal,
  } = options;
  expectInteger('maxHeldResults', maxHeldResults, 0);
  for (const [name, value] of [
    ['isFresh', isFresh],
    ['onData', onData],
    ['onStatus', onStatus],
    ['onError', onError],
  ] as const) {
    if (value !== undefined && typeof value !== 'function') {
      throw new TypeError(`Expected \`${name}\` to be a function, got ${typeof value}`);
    }
  }
  const queryPayload: SubscribePayload = toPayload(query, variables);
  const queryLabel = operationLabel(query);
  const pokePayload: SubscribePayload = toPayload(pokes, pokeVariables);
  const pokeLabel = operationLabel(pokes);

  let status: LiveQueryStatus = 'connecting';
  let error: Error | undefined;
  let data: { readonly value: TData } | undefined;
  /** The session subscribed on; events of any other are stale and ignored. */
  let session: Session | undefined;
  let unsubscribe: (() => void) | undefined;
  /** At most one fetch runs… */
  let inFlight: Fetch | undefined;
  /** …and at most one waits behind it, however many pokes arrive. */
  let queued: Queued | undefined;
  let heldInARow = 0;
  /** Answers marked stale in a row; a poke starts the count over. */
  let staleInARow = 0;
  /** Attached before: the next attach is a reconnect. */
  let attached = false;
  const stats = { pokes: 0, fetches: 0, coalesced: 0, fresh: 0, held: 0, stale: 0 };
  const tokens = createPendingTokens();

  // If the caller's error hook fails too, nothing is left to tell.
  const reportError = guardHook(options, 'onError');
  const report = (thrown: unknown): void => reportError(toError(thrown));
  const setStatus = (next: LiveQueryStatus): void => {
    if (status === next) return;
    status = next;
    try {
      onStatus?.(next);
    } catch (thrown) {
      report(thrown);
    }
  };
  const fresh = (poke: unknown, value: TData): boolean => {
    try {
      return isFresh(poke as TPoke, value);
    } catch (thrown) {
      report(thrown);
      return false;
    }
  };
  const show = (value: TData, reason: FetchReason, extensions: Record<string, unknown> | undefined): void => {
    data = { value };
    heldInARow = 0;
    setStatus('live');
    try {
      onData?.(value, extensions === undefined ? { reason } : { reason, extensions });
    } catch (thrown) {
      report(thrown);
    }
  };

  const fetch = (on: Session, reason: FetchReason): void => {
    // A callback may have disposed the live query, or the session ended, meanwhile.
    if (session !== on) return;
    const current: Fetch = { session: on, reason, tokens: tokens.take() };
    inFlight = current;
    stats.fetches++;
    on.execute(withReadAfter(queryPayload, current.tokens), queryLabel).then(
      (result) => {
        if (inFlight === current) answered(current, result);
      },
      () => {
        // The session ended: `detach` has already let go of this fetch, and
        // the next session fetches again.
      },
    );
  };

  const answered = (done: Fetch, result: OperationResult): void => {
    inFlight = undefined;
    const waiting = queued;
    queued = undefined;
    const extensions = extensionsOf(result);
    // A replica too far behind answered before it showed every token: show what it has, and ask again.
    const stale = isStale(extensions);
    if (stale) stats.stale++;
    const again = stale && staleInARow < maxStaleRefetches;
    staleInARow = stale ? staleInARow + 1 : 0;
    if (again) tokens.restore(done.tokens);
    const next = waiting?.reason ?? (again ? done.reason : undefined);
    if (result.errors !== undefined && result.errors.length > 0) {
      report(new OperationError(queryLabel, result.errors));
    } else if (result.data === undefined || result.data === null) {
      report(new OperationError(queryLabel, [{ message: 'the answer had no data' }]));
    } else {
      const value = result.data as TData;
      const outdated =
        waiting !== undefined && (waiting.all || waiting.pokes.some((poke) => !fresh(poke, value)));
      if (!outdated) {
        if (waiting !== undefined) stats.fresh += waiting.pokes.length;
        show(value, done.reason, extensions);
        if (again) fetch(done.session, done.reason);
        return;
      }
      if (heldInARow < maxHeldResults) {
        heldInARow++;
        stats.held++;
      } else {
        show(value, done.reason, extensions);
      }
    }
    if (next !== undefined) fetch(done.session, next);
  };

  const enqueue = (poke: unknown, reason: FetchReason): void => {
    stats.coalesced++;
    queued ??= { pokes: [], all: false, reason };
    if (queued.all) return;
    if (poke === undefined || queued.pokes.length >= maxQueuedPokes) {
      queued.all = true;
      queued.pokes = [];
    } else {
      queued.pokes.push(poke);
    }
  };

  /** A poke (or, with `poke` undefined, a `refetch()`). */
  const poked = (on: Session, poke: unknown, reason: FetchReason): void => {
    staleInARow = 0;
    if (inFlight !== undefined) {
      enqueue(poke, reason);
      return;
    }
    if (poke !== undefined && data !== undefined && fresh(poke, data.value)) {
      stats.fresh++;
      return;
    }
    fetch(on, reason);
  };

  const stop = (): void => {
    // Its answer is lost with the session: the next fetch, wherever it goes, must be as new.
    if (inFlight !== undefined) tokens.restore(inFlight.tokens);
    const stopped = unsubscribe;
    session = undefined;
    unsubscribe = undefined;
    inFlight = undefined;
    queued = undefined;
    stopped?.();
  };

  const failWith = (reason: Error, reported: boolean): void => {
    if (status === 'failed' || status === 'disposed') return;
    stop();
    error = reason;
    context.release();
    setStatus('failed');
    if (!reported) report(reason);
  };

  const liveQuery: LiveQuery<TData> & LiveQueryHost = {
    get data() {
      return data?.value;
    },
    get status() {
      return status;
    },
    get error() {
      return error;
    },
    get stats() {
      return { ...stats };
    },

    attach(on) {
      if (status === 'failed' || status === 'disposed') return;
      stop();
      const reason = attached ? 'reconnected' : 'connected';
      attached = true;
      session = on;
      // Subscribe first, then fetch: graphql-ws sends the two in this order
      // on this socket, so a change that lands between them still pokes.
      /** A result without data: the server refused the subscription, if it completes it next. */
      let refused: OperationError | undefined;
      unsubscribe = on.subscribe(pokePayload, {
        next: (result) => {
          if (session !== on) return;
          if (result.data === undefined || result.data === null) {
            refused = new OperationError(pokeLabel, result.errors ?? [{ message: 'a result without data' }]);
            report(refused);
            return;
          }
          refused = undefined;
          stats.pokes++;
          tokens.add(result.data);
          if (result.errors !== undefined && result.errors.length > 0) {
            report(new OperationError(pokeLabel, result.errors));
          }
          poked(on, result.data, 'poke');
        },
        error: (errors) => {
          if (session === on) failWith(new OperationError(pokeLabel, errors), false);
        },
        complete: () => {
          if (session !== on) return;
          if (refused === undefined) context.recycle(on);
          else failWith(refused, true);
        },
      });
      fetch(on, reason);
    },

    detach() {
      if (status === 'failed' || status === 'disposed') return;
      stop();
      setStatus('reconnecting');
    },

    fail(reason) {
      failWith(reason, false);
    },

    refetch() {
      if (session !== undefined) poked(session, undefined, 'refetch');
    },

    close() {
      if (status === 'disposed') return;
      stop();
      signal?.removeEventListener('abort', onAbort);
      setStatus('disposed');
    },

    dispose() {
      if (status === 'disposed') return;
      context.release();
      liveQuery.close();
    },

    [Symbol.dispose]() {
      liveQuery.dispose();
    },
  };

  const onAbort = (): void => liveQuery.dispose();
  if (signal?.aborted === true) liveQuery.dispose();
  else {
    signal?.addEventListener('abort', onAbort, { once: true });
    if (context.session !== undefined) liveQuery.attach(context.session);
  }
  return liveQuery;
}

/** Whether the server answered before it showed every read-after token (`extensions.pokegate.stale`). */
function isStale(extensions: Record<string, unknown> | undefined): boolean {
  const pokegate = extensions?.['pokegate'];
  return (
    typeof pokegate === 'object' && pokegate !== null && (pokegate as { stale?: unknown }).stale === true
  );
}

/** The answer's `extensions`, when it is an object (the protocol lets a server send anything there). */
function extensionsOf(result: OperationResult): Record<string, unknown> | undefined {
  const { extensions } = result;
  return typeof extensions === 'object' && extensions !== null
    ? (extensions as Record<string, unknown>)
    : undefined;
}
