import type { ExecutionResult } from 'graphql';

/**
 * A transport's way to send one subscription's result at once, during the
 * registry's fan-out, without a promise per subscriber: `createSharedSubscribe`
 * offers it every result that executed synchronously and without errors.
 * It returns false to refuse one (a subscriber that does not keep up); the
 * result then takes the iterator, as without it. A result sent this way skips
 * the per-result hooks of the server's plugins (envelop's `onSubscribeResult`
 * `onNext`): use it only where those have nothing to do with an error-free
 * result (yoga's error masking has not).
 */
export type DirectDelivery = (result: ExecutionResult) => boolean;

/**
 * Beside the context rather than on it: the context object is the
 * application's, and one more property on it would cost every subscription.
 */
const deliveries = new WeakMap<object, DirectDelivery>();

/** Registers `deliver` for an operation's `contextValue`, where `createSharedSubscribe` looks for it. */
export function setDirectDelivery(contextValue: object, deliver: DirectDelivery): void {
  deliveries.set(contextValue, deliver);
}

export function getDirectDelivery(contextValue: unknown): DirectDelivery | undefined {
  return typeof contextValue === 'object' && contextValue !== null ? deliveries.get(contextValue) : undefined;
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
