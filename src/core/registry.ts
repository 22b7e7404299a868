import { RegistryDisposedError } from '../common/errors.js';
import type { Gate, GateClient, Producer, SubmitResult } from './gate.js';
import { guardHook, toSafeObserver, type Observer, type SafeObserver } from './observer.js';
import { ReceiverImpl, type Equals, type Offer, type Receiver } from './receiver.js';
import { shallowEqual } from './shallow-equal.js';
import {
  expectArray,
  expectFunction,
  expectInteger,
  expectKey,
  expectNumber,
  expectString,
  expectThat,
} from '../common/validate.js';
import { abortable } from '../common/abort.js';

/** The key whose receivers get everything submitted to the registry: the admin view. */
export const WILDCARD = '*';

export interface RegistryOptions<T> {
  /** The subscription field this registry serves; the `registry` label of every metric. */
  readonly name: string;
  /** The worker pool that runs this registry's producers; one gate may serve many registries. */
  readonly gate: Gate;
  /**
   * Pokes a receiver holds for its subscriber before new ones are dropped
   * (and counted as `buffer_full`). Minimum: 1.
   * @default 16
   */
  readonly bufferSize?: number;
  /**
   * When a poke equal to one already waiting in a receiver's buffer is
   * offered, it is not queued twice (counted as `duplicate`).
   * @default shallowEqual — same own enumerable properties
   */
  readonly equals?: Equals<T>;
  /**
   * A resync pokes every open receiver once, spread evenly over this window so
   * that N clients do not refetch in the same millisecond. 0 pokes them all at once.
   * @default 1000
   */
  readonly resyncWindowMs?: number;
  /** @default the gate's observer */
  readonly observer?: Observer;
}

export interface ReceiverOptions<T = unknown> {
  /** Closes the receiver when it aborts. */
  readonly signal?: AbortSignal;
  /**
   * A poke the receiver yields before anything submitted after it opened,
   * for this receiver alone: the resync poke of a subscriber whose `prepare`
   * had to wait for a new binding, so its client refetches once the broker
   * routes to it.
   * @default none
   */
  readonly first?: T;
}

export interface SubmitOptions {
  /**
   * Submissions with the same keys and coalesce key are merged while they
   * wait: only the newest producer runs, and every merged submit gets its
   * result. Use it only where the newer change being visible implies the
   * older one is (an order's id, with versions that only grow).
   */
  readonly coalesceKey?: string;
  /** When the event happened (epoch ms), for `pokegate_visibility_lag_seconds`. */
  readonly occurredAt?: number;
  /**
   * The version of the coalesced thing this producer waits for (versions
   * only grow per coalesce key). With it, `progress` reports from the
   * projection wake the submission the moment it is visible instead of at
   * its next poll. Needs `coalesceKey`.
   */
  readonly version?: number;
}

/**
 * What the producer of `submitAddressed` returns once the change is visible:
 * the poke, and the keys whose receivers get it (the wildcard's always do).
 */
export interface Addressed<T> {
  readonly keys: readonly string[];
  readonly value: T;
}

/**
 * Told when a key gets its first receiver and when its last one left, e.g.
 * to bind a broker queue to the key's events only while someone listens.
 * Called synchronously inside `addReceiver` and the receiver's close; a throw
 * is ignored (it must never break a subscription).
 */
export interface KeyWatcher {
  /** `key` has its first receiver now (the wildcard `"*"` included). */
  added(key: string): void;
  /** The last receiver of `key` has closed. */
  removed(key: string): void;
  /**
   * For `Registry.prepare`: a promise that settles once what is submitted
   * for `key` from then on reaches a receiver opened then (e.g. once the
   * broker confirmed the key's binding); undefined when it already does,
   * and then `prepare` says no wait was needed.
   */
  prepare?(key: string): Promise<void> | undefined;
}

export interface PrepareOptions {
  /** Stops waiting (resolves) when it aborts. */
  readonly signal?: AbortSignal | undefined;
}

export interface ResyncOptions {
  /** @default the registry's `resyncWindowMs` */
  readonly windowMs?: number;
}

/** Keyed receivers of one subscription field, typed by its payload `T`. */
export interface Registry<T> {
  readonly name: string;
  /** Receivers open now. */
  readonly size: number;
  /**
   * Opens a receiver on one key or several (a poke submitted to several of
   * them reaches it once). `"*"` receives everything submitted to the registry.
   * @throws TypeError for an empty key, RegistryDisposedError after `dispose`.
   */
  addReceiver(keys: string | readonly string[], options?: ReceiverOptions<T>): Receiver<T>;
  /** Whether any receiver (the wildcard included) would get a poke for these keys. */
  hasReceivers(keys: string | readonly string[]): boolean;
  /** The keys with at least one receiver now, the wildcard included. */
  keys(): IterableIterator<string>;
  /**
   * Hands `producer` to the gate, which runs it until the change is visible,
   * then pokes every receiver of `keys` once with its value. With no receiver
   * for any of the keys the producer never runs (`no_receivers`). Never
   * rejects: the result says what happened.
   */
  submit(
    keys: string | readonly string[],
    producer: Producer<T>,
    options?: SubmitOptions,
  ): Promise<SubmitResult<T>>;
  /**
   * Like `submit`, for a change whose receivers only the read view knows
   * (every member of a company, say): the producer finds the keys in the same
   * read as its visibility check, once per submission, and the poke goes to
   * them. It runs while any receiver is open; `progress` does not reach it.
   */
  submitAddressed(
    producer: Producer<Addressed<T>>,
    options?: Omit<SubmitOptions, 'version'>,
  ): Promise<SubmitResult<Addressed<T>>>;
  /**
   * Pokes every open receiver once with `makePoke(its first key)`, after a gap
   * in the event stream. A new resync supersedes one still spreading.
   * Resolves with the number of receivers poked.
   */
  resync(makePoke: (key: string) => T, options?: ResyncOptions): Promise<number>;
  /**
   * Reports that the read view now holds `version` of `coalesceKey` — from a
   * projection in this process right after its commit, or from a commit
   * notice of any replica's. A pending submission with the same keys and
   * coalesce key that waits for that version or an older one is checked at
   * once; one waiting for a newer version puts its next check off (see the
   * gate's `awaitProgressMs`); one that comes later for that version or an
   * older one checks at once (the gate's `reportedVersions`). A report is
   * always safe and costs a few map operations.
   */
  progress(keys: string | readonly string[], coalesceKey: string, version: number): void;
  /**
   * Pokes the receivers of `keys` at once with `makePoke(key)` (a receiver
   * on several of them once), e.g. those that waited for a new binding. It
   * leaves a `resync` still spreading alone. Returns the receivers poked.
   */
  resyncKeys(keys: readonly string[], makePoke: (key: string) => T): number;
  /**
   * Resolves once a receiver opened on `keys` will get whatever is
   * submitted for them from then on: with a transient consumer bound by
   * interest, once the broker confirmed their bindings; at once otherwise.
   * Await it before `addReceiver` in a subscription resolver, and a
   * subscriber counted is a subscriber routed. Never rejects.
   *
   * Resolves to true when it had to wait for a new binding (or stopped
   * waiting on `signal`): a change published while it waited may have been
   * routed elsewhere only, after the client's first read. Open the receiver
   * with a resync poke as its `first` value then, so the client reads again;
   * false (already routed) needs none.
   */
  prepare(keys: string | readonly string[], options?: PrepareOptions): Promise<boolean>;
  /**
   * Reports each key's first receiver and each key's last one leaving to
   * `watcher`, starting with an `added` for every key open now. Returns the
   * function that stops it.
   */
  watchKeys(watcher: KeyWatcher): () => void;
  /** Completes every receiver and cancels this registry's gate work. Idempotent. */
  dispose(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

export function createRegistry<T>(options: RegistryOptions<T>): Registry<T> {
  return new RegistryImpl(options);
}

/** A resync tick: receivers of one step are poked together, steps are at least this far apart. */
const resyncStepMs = 10;

const skippedDisposed = Promise.resolve({ status: 'skipped', reason: 'disposed' } as const);
const skippedNoReceivers = Promise.resolve({ status: 'skipped', reason: 'no_receivers' } as const);

class RegistryImpl<T> implements Registry<T>, GateClient<T> {
  readonly name: string;
  readonly #gate: Gate;
  readonly #observer: SafeObserver;
  readonly #capacity: number;
  readonly #equals: Equals<T>;
  readonly #resyncWindowMs: number;
  /**
   * Forward index; a key is deleted with its last receiver, so `has` means
   * "has receivers". A key's only receiver is stored as itself, a Set only
   * from the second one on: most keys of a many-keys registry have one, and
   * a Set per key would cost each of them a hash table.
   */
  readonly #byKey = new Map<string, Receivers<T>>();
  readonly #remove = (receiver: ReceiverImpl<T>): void => {
    this.#detach(receiver);
  };
  /** Told of each key's first receiver and last one leaving; empty in most registries. */
  readonly #watchers = new Set<Watcher>();
  #size = 0;
  /** Bumped once per fan-out; a receiver stamped with it has had this poke. */
  #stamp = 0;
  /** Aborts the resync still spreading, when a new one starts or on dispose. */
  #resync: AbortController | undefined;
  #disposed = false;
  /** The gate's client for `submitAddressed`: the keys come with the value. */
  readonly #addressed: GateClient<Addressed<T>>;

  constructor(options: RegistryOptions<T>) {
    const { name, gate, bufferSize = 16, equals = shallowEqual, resyncWindowMs = 1_000, observer } = options;
    this.name = expectString('name', name);
    // A plain JavaScript caller can pass anything: check what the types promise.
    const candidate: unknown = gate;
    this.#gate = expectThat(
      'gate',
      gate,
      typeof candidate === 'object' && candidate !== null && typeof gate.submit === 'function',
      'a gate (from `createGate`)',
    );
    this.#observer = observer === undefined ? gate.observer : toSafeObserver(observer);
    this.#capacity = expectInteger('bufferSize', bufferSize, 1);
    this.#equals = expectFunction('equals', equals);
    this.#resyncWindowMs = expectNumber('resyncWindowMs', resyncWindowMs, 0);
    this.#addressed = {
      name,
      hasReceivers: () => this.#size > 0,
      fanOut: (_keys, { keys, value }) => this.fanOut(keys, value),
    };
  }

  get size(): number {
    return this.#size;
  }

  addReceiver(keys: string | readonly string[], options: ReceiverOptions<T> = {}): Receiver<T> {
    if (this.#disposed) throw new RegistryDisposedError(this.name);
    const list = typeof keys === 'string' ? [expectKey(keys)] : [...new Set(keys.map(expectKey))];
    expectThat('keys', list, list.length > 0, 'at least one key');
    const receiver = new ReceiverImpl<T>(list, this.#capacity, this.#equals, this.#remove, options.signal);
    for (const key of list) {
      const entry = this.#byKey.get(key);
      if (entry === undefined) {
        this.#byKey.set(key, receiver);
        for (const watcher of this.#watchers) watcher.added(key);
      } else if (entry instanceof ReceiverImpl) this.#byKey.set(key, new Set([entry, receiver]));
      else entry.add(receiver);
    }
    this.#size++;
    this.#observer.receivers({ registry: this.name, open: this.#size });
    if (options.signal?.aborted) receiver.close();
    else if ('first' in options) {
      const tally = { queued: 0, duplicate: 0, full: 0 };
      this.#tally(receiver.offer(options.first), tally);
      this.#report(tally);
    }
    return receiver;
  }

  hasReceivers(keys: string | readonly string[]): boolean {
    const byKey = this.#byKey;
    if (byKey.has(WILDCARD)) return true;
    if (typeof keys === 'string') return byKey.has(keys);
    for (const key of keys) if (byKey.has(key)) return true;
    return false;
  }

  keys(): IterableIterator<string> {
    return this.#byKey.keys();
  }

  submit(
    keys: string | readonly string[],
    producer: Producer<T>,
    options: SubmitOptions = {},
  ): Promise<SubmitResult<T>> {
    if (this.#disposed) {
      this.#observer.skipped({ registry: this.name, reason: 'disposed' });
      return skippedDisposed;
    }
    if (!this.hasReceivers(keys)) {
      this.#observer.skipped({ registry: this.name, reason: 'no_receivers' });
      return skippedNoReceivers;
    }
    const list = typeof keys === 'string' ? [keys] : keys;
    const { coalesceKey, occurredAt, version } = options;
    return this.#gate.submit({
      client: this,
      keys: list,
      producer,
      coalesceId: coalesceKey === undefined ? undefined : coalesceId(list, coalesceKey),
      occurredAt,
      version: coalesceKey === undefined ? undefined : version,
    });
  }

  submitAddressed(
    producer: Producer<Addressed<T>>,
    options: Omit<SubmitOptions, 'version'> = {},
  ): Promise<SubmitResult<Addressed<T>>> {
    if (this.#disposed) {
      this.#observer.skipped({ registry: this.name, reason: 'disposed' });
      return skippedDisposed;
    }
    if (this.#size === 0) {
      this.#observer.skipped({ registry: this.name, reason: 'no_receivers' });
      return skippedNoReceivers;
    }
    const { coalesceKey, occurredAt } = options;
    return this.#gate.submit({
      client: this.#addressed,
      keys: [],
      producer: async (context) => {
        const addressed = await producer(context);
        if (addressed !== undefined) expectArray("the producer's keys", addressed.keys);
        return addressed;
      },
      coalesceId: coalesceKey === undefined ? undefined : coalesceId([], coalesceKey),
      occurredAt,
    });
  }

  progress(keys: string | readonly string[], coalesceKey: string, version: number): void {
    if (this.#disposed) return;
    this.#gate.progress(this, coalesceId(typeof keys === 'string' ? [keys] : keys, coalesceKey), version);
  }

  fanOut(keys: readonly string[], value: T): number {
    const stamp = ++this.#stamp;
    const tally = { queued: 0, duplicate: 0, full: 0 };
    for (const key of keys) this.#offerAll(this.#byKey.get(key), value, stamp, tally);
    this.#offerAll(this.#byKey.get(WILDCARD), value, stamp, tally);
    this.#report(tally);
    return tally.queued + tally.duplicate + tally.full;
  }

  async resync(makePoke: (key: string) => T, options: ResyncOptions = {}): Promise<number> {
    if (this.#disposed) return 0;
    const windowMs = expectNumber('windowMs', options.windowMs ?? this.#resyncWindowMs, 0);
    this.#resync?.abort();
    const controller = new AbortController();
    this.#resync = controller;
    const receivers = new Set<ReceiverImpl<T>>();
    for (const entry of this.#byKey.values()) for (const receiver of each(entry)) receivers.add(receiver);
    const all = [...receivers];
    this.#observer.resync({ registry: this.name, receivers: all.length });
    const steps = Math.max(1, Math.min(all.length, Math.floor(windowMs / resyncStepMs)));
    const perStep = Math.ceil(all.length / steps);
    const pokes = new Map<string, T>();
    let poked = 0;
    for (let start = 0; start < all.length; start += perStep) {
      if (start > 0 && !(await this.#gate.clock.sleep(windowMs / steps, controller.signal))) break;
      const tally = { queued: 0, duplicate: 0, full: 0 };
      for (const receiver of all.slice(start, start + perStep)) {
        const key = receiver.keys[0] as string;
        let poke = pokes.get(key);
        if (poke === undefined) {
          poke = makePoke(key);
          pokes.set(key, poke);
        }
        this.#tally(receiver.offer(poke), tally);
      }
      poked += tally.queued + tally.duplicate + tally.full;
      this.#report(tally);
    }
    if (this.#resync === controller) this.#resync = undefined;
    return poked;
  }

  resyncKeys(keys: readonly string[], makePoke: (key: string) => T): number {
    if (this.#disposed) return 0;
    const stamp = ++this.#stamp;
    const tally = { queued: 0, duplicate: 0, full: 0 };
    for (const key of keys) {
      const entry = this.#byKey.get(key);
      if (entry !== undefined) this.#offerAll(entry, makePoke(key), stamp, tally);
    }
    this.#report(tally);
    return tally.queued + tally.duplicate + tally.full;
  }

  async prepare(keys: string | readonly string[], options: PrepareOptions = {}): Promise<boolean> {
    const waits: Promise<void>[] = [];
    for (const watcher of this.#watchers) {
      for (const key of typeof keys === 'string' ? [keys] : keys) {
        const wait = watcher.prepare(key);
        if (wait !== undefined) waits.push(wait);
      }
    }
    if (waits.length === 0) return false;
    await abortable(Promise.all(waits), options.signal).catch(() => undefined);
    return true;
  }

  watchKeys(watcher: KeyWatcher): () => void {
    const safe: Watcher = {
      added: guardHook(watcher, 'added'),
      removed: guardHook(watcher, 'removed'),
      prepare: (key) => {
        try {
          return watcher.prepare?.(key)?.catch(() => undefined);
        } catch {
          // A broken watcher must not keep a subscription from starting.
          return undefined;
        }
      },
    };
    this.#watchers.add(safe);
    for (const key of this.#byKey.keys()) safe.added(key);
    return () => {
      this.#watchers.delete(safe);
    };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#resync?.abort();
    this.#gate.cancel(this);
    this.#gate.cancel(this.#addressed);
    for (const entry of [...this.#byKey.values()]) for (const receiver of [...each(entry)]) receiver.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
    return Promise.resolve();
  }

  #offerAll(entry: Receivers<T> | undefined, value: T, stamp: number, tally: Tally): void {
    if (entry === undefined) return;
    if (entry instanceof ReceiverImpl) {
      this.#offerOne(entry, value, stamp, tally);
      return;
    }
    // Iterating a Set is safe while receivers close under us: deleted ones are skipped.
    for (const receiver of entry) this.#offerOne(receiver, value, stamp, tally);
  }

  #offerOne(receiver: ReceiverImpl<T>, value: T, stamp: number, tally: Tally): void {
    if (receiver.stamp === stamp) return;
    receiver.stamp = stamp;
    this.#tally(receiver.offer(value), tally);
  }

  #tally(offer: Offer, tally: Tally): void {
    if (offer !== 'closed') tally[offer]++;
  }

  #report(tally: Tally): void {
    const registry = this.name;
    if (tally.queued > 0) this.#observer.delivered({ registry, receivers: tally.queued });
    if (tally.full > 0) this.#observer.dropped({ registry, reason: 'buffer_full', count: tally.full });
    if (tally.duplicate > 0)
      this.#observer.dropped({ registry, reason: 'duplicate', count: tally.duplicate });
  }

  #detach(receiver: ReceiverImpl<T>): void {
    for (const key of receiver.keys) {
      const entry = this.#byKey.get(key);
      if (entry === receiver || (entry instanceof Set && entry.delete(receiver) && entry.size === 0)) {
        this.#byKey.delete(key);
        for (const watcher of this.#watchers) watcher.removed(key);
      }
    }
    this.#size--;
    this.#observer.receivers({ registry: this.name, open: this.#size });
  }
}

/** A watcher whose hooks never throw. */
interface Watcher {
  added(key: string): void;
  removed(key: string): void;
  prepare(key: string): Promise<void> | undefined;
}

/** A key's receivers: the only one, or a Set of two or more. */
type Receivers<T> = ReceiverImpl<T> | Set<ReceiverImpl<T>>;

function each<T>(entry: Receivers<T>): Iterable<ReceiverImpl<T>> {
  return entry instanceof ReceiverImpl ? [entry] : entry;
}

/** Keys are part of the identity: the same order routed to other keys is other work. */
function coalesceId(keys: readonly string[], coalesceKey: string): string {
  return `${keys.join('\u0000')}\u0001${coalesceKey}`;
}

interface Tally {
  queued: number;
  duplicate: number;
  full: number;
}
