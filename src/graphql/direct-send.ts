import type { ExecutionResult } from 'graphql';

/**
 * A transport's way to send one subscription's result at once, during the
 * registry's fan-out, without a promise per subscriber: `createSharedSubscribe`
 * offers it every result that executed synchronously and without errors.
 * A result sent this way skips the per-result hooks of the server's plugins
 * (envelop's `onSubscribeResult` `onNext`): use it only where those have
 * nothing to do with an error-free result (yoga's error masking has not).
 * An object rather than a function: a transport can make it one small
 * instance per subscription instead of a closure and its scope.
 */
export interface DirectSend {
  /**
   * Sends `result` now and says whether it did; false refuses it (a
   * subscriber that does not keep up), and the result then takes the
   * iterator, as without a direct send.
   */
  send(result: ExecutionResult): boolean;
}

/**
 * Beside the context rather than on it: the context object is the
 * application's, and one more property on it would cost every subscription.
 */
const sends = new WeakMap<object, DirectSend>();

/** Registers `send` for an operation's `contextValue`, where `createSharedSubscribe` takes it. */
export function setDirectSend(contextValue: object, send: DirectSend): void {
  sends.set(contextValue, send);
}

/**
 * The direct send registered for `contextValue`, once: the subscription that
 * takes it keeps it, so the map holds no entry per open subscription.
 */
export function takeDirectSend(contextValue: unknown): DirectSend | undefined {
  if (typeof contextValue !== 'object' || contextValue === null) return undefined;
  const send = sends.get(contextValue);
  sends.delete(contextValue);
  return send;
}

/**
 * The JSON of a result, serialised once per result object: every subscriber
 * of a shared execution gets the same object, so N subscribers cost one
 * `JSON.stringify`. Results are dropped with their poke.
 */
export function createResultSerializer(): (result: ExecutionResult) => string {
  const cache = new WeakMap<ExecutionResult, string>();
  return (result) => {
    let json = cache.get(result);
    if (json === undefined) {
      json = JSON.stringify(result);
      cache.set(result, json);
    }
    return json;
  };
}
