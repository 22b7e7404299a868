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
export interface DirectDelivery {
  /**
   * Sends `result` now and says whether it did; false refuses it (a
   * subscriber that does not keep up), and the result then takes the
   * iterator, as without a direct delivery.
   */
  send(result: ExecutionResult): boolean;
}

/**
 * Beside the context rather than on it: the context object is the
 * application's, and one more property on it would cost every subscription.
 */
const deliveries = new WeakMap<object, DirectDelivery>();

/** Registers `delivery` for an operation's `contextValue`, where `createSharedSubscribe` takes it. */
export function setDirectDelivery(contextValue: object, delivery: DirectDelivery): void {
  deliveries.set(contextValue, delivery);
}

/**
 * The delivery registered for `contextValue`, once: the subscription that
 * takes it keeps it, so the map holds no entry per open subscription.
 */
export function takeDirectDelivery(contextValue: unknown): DirectDelivery | undefined {
  if (typeof contextValue !== 'object' || contextValue === null) return undefined;
  const delivery = deliveries.get(contextValue);
  deliveries.delete(contextValue);
  return delivery;
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
