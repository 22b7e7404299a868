import {
  createSourceEventStream,
  execute,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';

export type SubscribeResult = AsyncIterableIterator<ExecutionResult> | ExecutionResult;

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
 */
export function createSharedSubscribe(): (args: ExecutionArgs) => Promise<SubscribeResult> {
  /** Per source event: results by selection. Dropped with the event. */
  const results = new WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>();
  const documentIds = new WeakMap<DocumentNode, number>();
  let lastDocumentId = 0;

  const selectionKey = (args: ExecutionArgs): string => {
    let id = documentIds.get(args.document);
    if (id === undefined) {
      id = ++lastDocumentId;
      documentIds.set(args.document, id);
    }
    return `${id}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
  };

  return async (args) => {
    const stream = await createSourceEventStream(args);
    if (!isAsyncIterable(stream)) return stream;
    const key = selectionKey(args);
    const run = (event: unknown): ExecutionResult | Promise<ExecutionResult> => {
      if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
      let byKey = results.get(event);
      if (byKey === undefined) {
        byKey = new Map();
        results.set(event, byKey);
      }
      let result = byKey.get(key);
      if (result === undefined) {
        result = execute({ ...args, rootValue: event });
        byKey.set(key, result);
      }
      return result;
    };
    return mapIterator(stream[Symbol.asyncIterator](), run);
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Maps each value; `return` reaches the source, so the receiver closes with the subscription. */
function mapIterator<T>(
  source: AsyncIterator<unknown>,
  map: (value: unknown) => T | Promise<T>,
): AsyncIterableIterator<T> {
  const done: IteratorReturnResult<undefined> = { value: undefined, done: true };
  return {
    async next() {
      const result = await source.next();
      return result.done === true ? done : { value: await map(result.value), done: false };
    },
    async return() {
      await source.return?.();
      return done;
    },
    async throw(error: unknown) {
      await source.return?.();
      throw error instanceof Error ? error : new Error(String(error));
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
