import {
  createSourceEventStream,
  execute,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { toError } from '../common/errors.js';
import type { ReceiverSink } from '../core/receiver.js';
import { directSendOf, type DirectSend } from './direct-send.js';

export type SubscribeResult = AsyncIterableIterator<ExecutionResult> | ExecutionResult;

type MaybeResult = ExecutionResult | Promise<ExecutionResult>;

/**
 * A graphql-js `subscribe` that executes a subscription's selection once per
 * (document, operation, variables) and source event, and hands every
 * subscriber the same result. A registry fans one poke object out to all
 * receivers of a key, so N subscribers of one company cost one execution per
 * poke instead of N.
 *
 * Sharing is only sound for selections whose result does not depend on the
 * subscriber's context: the execution runs with the first subscriber's
 * `contextValue`. Authorisation belongs in the field's `subscribe`, which
 * still runs once per subscriber.
 *
 * When the transport put a `DirectSend` in the operation's arguments
 * (`DirectSendArgs`) and the field's source is a pokegate receiver, each poke's shared
 * result is handed to the transport during the fan-out itself: no promise,
 * no iterator step and no serialisation per subscriber (see `Receiver.setSink`).
 */
export function createSharedSubscribe(): (args: ExecutionArgs) => Promise<SubscribeResult> {
  const shared = new SharedExecutions();
  return async (args) => {
    const stream = await createSourceEventStream(args);
    if (!isAsyncIterable(stream)) return stream;
    const iterator = new SharedResultIterator(stream[Symbol.asyncIterator](), shared, args);
    const direct = directSendOf(args);
    if (direct !== undefined && hasSink(stream)) iterator.sendDirectly(stream, direct);
    return iterator;
  };
}

/** The executions of one `createSharedSubscribe`, by source event and selection. */
class SharedExecutions {
  /** Per source event: results by selection. Dropped with the event. */
  readonly #results = new WeakMap<object, Map<string, MaybeResult>>();
  readonly #documentIds = new WeakMap<DocumentNode, number>();
  #lastDocumentId = 0;

  /** What makes two subscriptions' results interchangeable: document, operation and variables. */
  selectionKey(args: ExecutionArgs): string {
    let id = this.#documentIds.get(args.document);
    if (id === undefined) {
      id = ++this.#lastDocumentId;
      this.#documentIds.set(args.document, id);
    }
    return `${id}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
  }

  run(args: ExecutionArgs, key: string, event: unknown): MaybeResult {
    if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
    let byKey = this.#results.get(event);
    if (byKey === undefined) {
      byKey = new Map();
      this.#results.set(event, byKey);
    }
    let result = byKey.get(key);
    if (result === undefined) {
      result = execute({ ...args, rootValue: event });
      byKey.set(key, result);
    }
    return result;
  }
}

const done: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * Maps each source event to its shared result; `return` reaches the source,
 * so the receiver closes with the subscription. A class, not a closure per
 * method: one of these lives as long as each subscription.
 */
class SharedResultIterator implements AsyncIterableIterator<ExecutionResult> {
  readonly #source: AsyncIterator<unknown>;
  readonly #shared: SharedExecutions;
  readonly #args: ExecutionArgs;
  /** Made at the first poke: an idle subscription does without. */
  #key: string | undefined;

  constructor(source: AsyncIterator<unknown>, shared: SharedExecutions, args: ExecutionArgs) {
    this.#source = source;
    this.#shared = shared;
    this.#args = args;
  }

  /** Sends each poke's result through `direct` while it takes them; the rest come through `next`. */
  sendDirectly(stream: Sinkable, direct: DirectSend): void {
    stream.setSink((event) => {
      const result = this.#run(event);
      // An async or failed execution takes the iterator, and with it the server's error handling.
      return !isPromiseLike(result) && result.errors === undefined && direct.send(result);
    });
  }

  #run(event: unknown): MaybeResult {
    this.#key ??= this.#shared.selectionKey(this.#args);
    return this.#shared.run(this.#args, this.#key, event);
  }

  next(): Promise<IteratorResult<ExecutionResult, undefined>> {
    return this.#source.next().then((item) => {
      if (item.done === true) return done;
      const result = this.#run(item.value);
      return isPromiseLike(result)
        ? result.then((value) => ({ value, done: false }))
        : { value: result, done: false };
    });
  }

  async return(): Promise<IteratorReturnResult<undefined>> {
    await this.#source.return?.();
    return done;
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult, undefined>> {
    await this.#source.return?.();
    throw toError(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

interface Sinkable {
  setSink(sink: ReceiverSink<unknown>): () => void;
}

function hasSink(value: object): value is Sinkable {
  return typeof (value as { setSink?: unknown }).setSink === 'function';
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown }).then === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
