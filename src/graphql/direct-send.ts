import type { ExecutionArgs, ExecutionResult } from 'graphql';

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
 * The execution arguments a transport builds for one operation, with the
 * direct send to its subscriber. graphql-ws hands the object its `onSubscribe`
 * returned to `subscribe` as it is, and envelop hands it on to
 * `createSharedSubscribe`: the send travels with the operation's arguments,
 * not on the application's context.
 */
export interface DirectSendArgs extends ExecutionArgs {
  readonly directSend?: DirectSend | undefined;
}

/** The direct send the transport put in `args`, if any (none over HTTP or SSE). */
export function directSendOf(args: ExecutionArgs): DirectSend | undefined {
  return (args as DirectSendArgs).directSend;
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
