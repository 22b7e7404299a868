import { toError } from '../common/errors.js';

/**
 * One subscriber's end of a registry: an async iterator a graphql-js
 * subscription resolver can return. The registry offers it pokes without ever
 * waiting on it; the iterator's consumer takes them at its own pace.
 */
export interface Receiver<T> extends AsyncIterableIterator<T, undefined, undefined> {
  /** The keys this receiver listens to. */
  readonly keys: readonly string[];
  /** Whether `close` (or `return`, or the registry's dispose) has run. */
  readonly closed: boolean;
  /**
   * Removes the receiver from its registry and completes the iterator.
   * Idempotent; O(number of keys).
   */
  close(): void;
  /** Closes the receiver, as graphql-js does when the subscription ends. */
  return(): Promise<IteratorReturnResult<undefined>>;
  /**
   * Hands pokes to `sink` synchronously, during the fan-out, instead of
   * through `next()` — for a transport that can send a poke without awaiting
   * anything. The sink is used only while the iterator's consumer is idle
   * (waiting in `next()`, nothing buffered), so pokes never overtake each
   * other; a poke it refuses (returns false, or throws) goes the usual way,
   * to `next()`, with the buffer's bound. One sink at a time: a new one
   * replaces the last. Returns the function that detaches it.
   */
  setSink(sink: ReceiverSink<T>): () => void;
  [Symbol.dispose](): void;
}

/** Takes a poke at once and says whether it did; see `Receiver.setSink`. Must not block. */
export type ReceiverSink<T> = (value: T) => boolean;

/** What `offer` did with a poke. */
export type Offer = 'queued' | 'duplicate' | 'full' | 'closed';

const done: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });
const doneNow = Promise.resolve(done);

export type Equals<T> = (a: T, b: T) => boolean;

/**
 * The registry's receiver. One object per subscriber, and no buffer until the
 * first poke waits in it, to keep idle receivers small.
 */
export class ReceiverImpl<T> implements Receiver<T> {
  readonly keys: readonly string[];
  /** The registry's fan-out counter when this receiver was last offered a poke: one poke per fan-out. */
  stamp = 0;
  #capacity: number;
  #equals: Equals<T>;
  #onClose: (receiver: ReceiverImpl<T>) => void;
  /** Removes the abort listener of the `signal` given at creation, if any. */
  #detach: (() => void) | undefined;
  /** Pokes offered and not yet taken; only ever non-empty while nobody waits in `next`. */
  #buffer: T[] | undefined;
  /** The resolver of the `next` call waiting for a poke; only set while the buffer is empty. */
  #wake: ((result: IteratorResult<T, undefined>) => void) | undefined;
  #waiting: Promise<IteratorResult<T, undefined>> | undefined;
  /** Takes pokes directly while `#wake` is set (the consumer idles in `next`). */
  #sink: ReceiverSink<T> | undefined;
  #closed = false;

  constructor(
    keys: readonly string[],
    capacity: number,
    equals: Equals<T>,
    onClose: (receiver: ReceiverImpl<T>) => void,
    signal: AbortSignal | undefined,
  ) {
    this.keys = keys;
    this.#capacity = capacity;
    this.#equals = equals;
    this.#onClose = onClose;
    if (signal !== undefined) {
      const onAbort = (): void => {
        this.close();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#detach = () => {
        signal.removeEventListener('abort', onAbort);
      };
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Never blocks and never throws: hands the poke to a waiting `next`, buffers it, or refuses it. */
  offer(value: T): Offer {
    if (this.#closed) return 'closed';
    const wake = this.#wake;
    // The consumer idles with nothing buffered: a sink that takes the poke now cannot reorder it.
    if (wake !== undefined && this.#sink !== undefined && this.#sinkTakes(this.#sink, value)) return 'queued';
    if (wake !== undefined) {
      this.#wake = undefined;
      this.#waiting = undefined;
      wake({ value, done: false });
      return 'queued';
    }
    const buffer = (this.#buffer ??= []);
    for (const waiting of buffer) if (this.#equals(waiting, value)) return 'duplicate';
    if (buffer.length >= this.#capacity) return 'full';
    buffer.push(value);
    return 'queued';
  }

  #sinkTakes(sink: ReceiverSink<T>, value: T): boolean {
    try {
      return sink(value);
    } catch {
      return false; // a throwing sink refuses: the poke takes the usual way
    }
  }

  setSink(sink: ReceiverSink<T>): () => void {
    this.#sink = sink;
    return () => {
      if (this.#sink === sink) this.#sink = undefined;
    };
  }

  next(): Promise<IteratorResult<T, undefined>> {
    const buffer = this.#buffer;
    if (buffer !== undefined && buffer.length > 0) {
      return Promise.resolve({ value: buffer.shift() as T, done: false });
    }
    if (this.#closed) return doneNow;
    // A second `next` before the first settled waits its turn instead of taking the same poke.
    if (this.#waiting !== undefined) return this.#waiting.then(() => this.next());
    this.#waiting = new Promise((resolve) => (this.#wake = resolve));
    return this.#waiting;
  }

  return(): Promise<IteratorReturnResult<undefined>> {
    this.close();
    return doneNow;
  }

  throw(error?: unknown): Promise<IteratorResult<T, undefined>> {
    this.close();
    return Promise.reject(toError(error));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer = undefined;
    this.#sink = undefined;
    this.#detach?.();
    this.#onClose(this);
    const wake = this.#wake;
    this.#wake = undefined;
    this.#waiting = undefined;
    wake?.(done);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
