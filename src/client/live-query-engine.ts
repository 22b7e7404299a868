import type { SubscribePayload } from 'graphql-ws/client';
import { abortReason } from '../common/abort.js';
import { DisposedError } from '../common/errors.js';
import { OperationError } from './errors.js';
import type {
  FetchReason,
  LiveQuery,
  LiveQueryStats,
  LiveQueryStatus,
  LiveQueryUpdate,
} from './live-query-options.js';
import { createPendingTokens, extensionsOf, isStale, withReadAfter } from './read-after-tokens.js';
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

export interface LiveQueryContext {
  /** The session now, if connected. */
  readonly session: Session | undefined;
  /** Removes the live query from the client. */
  readonly release: () => void;
  /** The server ended the poke subscription on a live socket: recycle the connection. */
  readonly recycle: (session: Session) => void;
}

/** The caller's callbacks, each guarded: a throw goes to `report` (and `report`'s own throw nowhere). */
export interface LiveQueryCallbacks<TData> {
  readonly report: (thrown: unknown) => void;
  readonly status: (status: LiveQueryStatus) => void;
  readonly data: (value: TData, update: LiveQueryUpdate) => void;
  readonly poke: (poke: unknown) => void;
  /** `isFresh`; false when it throws. */
  readonly fresh: (poke: unknown, value: TData) => boolean;
}

/** The validated options: the two operations, ready to send, and the callbacks. */
export interface LiveQuerySettings<TData> {
  readonly queryPayload: SubscribePayload;
  readonly queryLabel: string;
  readonly pokePayload: SubscribePayload;
  readonly pokeLabel: string;
  readonly maxHeldResults: number;
  readonly callbacks: LiveQueryCallbacks<TData>;
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

/**
 * One live query's state: subscribed and fetched on each session it is
 * attached to, refetching on pokes with at most one query in flight and one
 * queued.
 */
export class LiveQueryEngine<TData> implements LiveQuery<TData>, LiveQueryHost {
  readonly #settings: LiveQuerySettings<TData>;
  readonly #context: LiveQueryContext;
  /** Called once the live query is disposed or closed: removes its abort listener. */
  readonly #onClose: () => void;
  #status: LiveQueryStatus = 'connecting';
  #error: Error | undefined;
  #data: { readonly value: TData } | undefined;
  /** The session subscribed on; events of any other are stale and ignored. */
  #session: Session | undefined;
  #unsubscribe: (() => void) | undefined;
  /** At most one fetch runs… */
  #inFlight: Fetch | undefined;
  /** …and at most one waits behind it, however many pokes arrive. */
  #queued: Queued | undefined;
  #heldInARow = 0;
  /** Answers marked stale in a row; a poke starts the count over. */
  #staleInARow = 0;
  /** Attached before: the next attach is a reconnect. */
  #attached = false;
  readonly #stats = { pokes: 0, fetches: 0, coalesced: 0, fresh: 0, held: 0, stale: 0 };
  readonly #tokens = createPendingTokens();
  /** The `whenLive` promises waiting: settled by the next status that decides them. */
  readonly #liveWaiters = new Set<(status: LiveQueryStatus) => void>();

  constructor(settings: LiveQuerySettings<TData>, context: LiveQueryContext, onClose: () => void) {
    this.#settings = settings;
    this.#context = context;
    this.#onClose = onClose;
  }

  get data(): TData | undefined {
    return this.#data?.value;
  }
  get status(): LiveQueryStatus {
    return this.#status;
  }
  get error(): Error | undefined {
    return this.#error;
  }
  get stats(): LiveQueryStats {
    return { ...this.#stats };
  }

  attach(on: Session): void {
    if (this.#ended()) return;
    this.#stop();
    const reason = this.#attached ? 'reconnected' : 'connected';
    this.#attached = true;
    this.#session = on;
    // Subscribe first, then fetch: graphql-ws sends the two in this order
    // on this socket, so a change that lands between them still pokes.
    this.#unsubscribe = this.#subscribePokes(on);
    this.#fetch(on, reason);
  }

  detach(): void {
    if (this.#ended()) return;
    this.#stop();
    this.#setStatus('reconnecting');
  }

  fail(reason: Error): void {
    this.#failWith(reason, false);
  }

  whenLive(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    if (this.#status === 'live') return Promise.resolve();
    if (this.#status === 'failed') return Promise.reject(this.#error ?? new Error('The live query failed'));
    if (this.#status === 'disposed') return Promise.reject(new DisposedError('The live query'));
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const settle = (status: LiveQueryStatus): void => {
        if (status === 'live') resolve();
        else if (status === 'failed') reject(this.#error ?? new Error('The live query failed'));
        else if (status === 'disposed') reject(new DisposedError('The live query'));
        else return;
        this.#liveWaiters.delete(settle);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        this.#liveWaiters.delete(settle);
        reject(abortReason(signal as AbortSignal));
      };
      this.#liveWaiters.add(settle);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  refetch(): void {
    if (this.#session !== undefined) this.#poked(this.#session, undefined, 'refetch');
  }

  close(): void {
    if (this.#status === 'disposed') return;
    this.#stop();
    this.#onClose();
    this.#setStatus('disposed');
  }

  dispose(): void {
    if (this.#status === 'disposed') return;
    this.#context.release();
    this.close();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Read through a method: the status changes across callbacks, which narrowing cannot see. */
  #ended(): boolean {
    return this.#status === 'failed' || this.#status === 'disposed';
  }

  #setStatus(next: LiveQueryStatus): void {
    if (this.#status === next) return;
    this.#status = next;
    for (const settle of [...this.#liveWaiters]) settle(next);
    this.#settings.callbacks.status(next);
  }

  #show(value: TData, reason: FetchReason, extensions: Record<string, unknown> | undefined): void {
    this.#data = { value };
    this.#heldInARow = 0;
    this.#setStatus('live');
    this.#settings.callbacks.data(value, extensions === undefined ? { reason } : { reason, extensions });
  }

  /** The poke subscription on `on`; returns its unsubscribe. */
  #subscribePokes(on: Session): () => void {
    const { pokePayload, pokeLabel, callbacks } = this.#settings;
    /** A result without data: the server refused the subscription, if it completes it next. */
    let refused: OperationError | undefined;
    return on.subscribe(pokePayload, {
      next: (result) => {
        if (this.#session !== on) return;
        if (result.data === undefined || result.data === null) {
          refused = new OperationError(pokeLabel, result.errors ?? [{ message: 'a result without data' }]);
          callbacks.report(refused);
          return;
        }
        refused = undefined;
        this.#stats.pokes++;
        this.#tokens.add(result.data);
        callbacks.poke(result.data);
        if (result.errors !== undefined && result.errors.length > 0) {
          callbacks.report(new OperationError(pokeLabel, result.errors));
        }
        this.#poked(on, result.data, 'poke');
      },
      error: (errors) => {
        if (this.#session === on) this.#failWith(new OperationError(pokeLabel, errors), false);
      },
      complete: () => {
        if (this.#session !== on) return;
        if (refused === undefined) this.#context.recycle(on);
        else this.#failWith(refused, true);
      },
    });
  }

  #fetch(on: Session, reason: FetchReason): void {
    // A callback may have disposed the live query, or the session ended, meanwhile.
    if (this.#session !== on) return;
    const current: Fetch = { session: on, reason, tokens: this.#tokens.take() };
    this.#inFlight = current;
    this.#stats.fetches++;
    const { queryPayload, queryLabel } = this.#settings;
    on.execute(withReadAfter(queryPayload, current.tokens), queryLabel).then(
      (result) => {
        if (this.#inFlight === current) this.#answered(current, result);
      },
      () => {
        // The session ended: `detach` has already let go of this fetch, and
        // the next session fetches again.
      },
    );
  }

  #answered(done: Fetch, result: OperationResult): void {
    const { queryLabel, maxHeldResults, callbacks } = this.#settings;
    this.#inFlight = undefined;
    const waiting = this.#queued;
    this.#queued = undefined;
    const extensions = extensionsOf(result);
    // A replica too far behind answered before it showed every token: show what it has, and ask again.
    const stale = isStale(extensions);
    if (stale) this.#stats.stale++;
    const again = stale && this.#staleInARow < maxStaleRefetches;
    this.#staleInARow = stale ? this.#staleInARow + 1 : 0;
    if (again) this.#tokens.restore(done.tokens);
    const next = waiting?.reason ?? (again ? done.reason : undefined);
    if (result.errors !== undefined && result.errors.length > 0) {
      callbacks.report(new OperationError(queryLabel, result.errors));
    } else if (result.data === undefined || result.data === null) {
      callbacks.report(new OperationError(queryLabel, [{ message: 'the answer had no data' }]));
    } else {
      const value = result.data as TData;
      const outdated =
        waiting !== undefined && (waiting.all || waiting.pokes.some((poke) => !callbacks.fresh(poke, value)));
      if (!outdated) {
        if (waiting !== undefined) this.#stats.fresh += waiting.pokes.length;
        this.#show(value, done.reason, extensions);
        if (again) this.#fetch(done.session, done.reason);
        return;
      }
      if (this.#heldInARow < maxHeldResults) {
        this.#heldInARow++;
        this.#stats.held++;
      } else {
        this.#show(value, done.reason, extensions);
      }
    }
    if (next !== undefined) this.#fetch(done.session, next);
  }

  #enqueue(poke: unknown, reason: FetchReason): void {
    this.#stats.coalesced++;
    const queued = (this.#queued ??= { pokes: [], all: false, reason });
    if (queued.all) return;
    if (poke === undefined || queued.pokes.length >= maxQueuedPokes) {
      queued.all = true;
      queued.pokes = [];
    } else {
      queued.pokes.push(poke);
    }
  }

  /** A poke (or, with `poke` undefined, a `refetch()`). */
  #poked(on: Session, poke: unknown, reason: FetchReason): void {
    this.#staleInARow = 0;
    if (this.#inFlight !== undefined) {
      this.#enqueue(poke, reason);
      return;
    }
    if (
      poke !== undefined &&
      this.#data !== undefined &&
      this.#settings.callbacks.fresh(poke, this.#data.value)
    ) {
      this.#stats.fresh++;
      return;
    }
    this.#fetch(on, reason);
  }

  #stop(): void {
    // Its answer is lost with the session: the next fetch, wherever it goes, must be as new.
    if (this.#inFlight !== undefined) this.#tokens.restore(this.#inFlight.tokens);
    const stopped = this.#unsubscribe;
    this.#session = undefined;
    this.#unsubscribe = undefined;
    this.#inFlight = undefined;
    this.#queued = undefined;
    stopped?.();
  }

  #failWith(reason: Error, reported: boolean): void {
    if (this.#ended()) return;
    this.#stop();
    this.#error = reason;
    this.#context.release();
    this.#setStatus('failed');
    if (!reported) this.#settings.callbacks.report(reason);
  }
}
