import { toError } from '../common/errors.js';
import { guardHook } from '../core/observer.js';
import { expectInteger, expectOptionalFunction } from '../common/validate.js';
import { operationLabel, toPayload, type OperationVariables } from './document.js';
import {
  LiveQueryEngine,
  type LiveQueryCallbacks,
  type LiveQueryContext,
  type LiveQueryHost,
  type LiveQuerySettings,
} from './live-query-engine.js';
import type { LiveQuery, LiveQueryOptions } from './live-query-options.js';

export type { LiveQueryContext, LiveQueryHost } from './live-query-engine.js';

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
  const settings = resolveSettings(options);
  const { signal } = options;
  const onAbort = (): void => liveQuery.dispose();
  const liveQuery = new LiveQueryEngine(settings, context, () => {
    signal?.removeEventListener('abort', onAbort);
  });
  if (signal?.aborted === true) liveQuery.dispose();
  else {
    signal?.addEventListener('abort', onAbort, { once: true });
    if (context.session !== undefined) liveQuery.attach(context.session);
  }
  return liveQuery;
}

/** The options validated (a TypeError names a bad one), the operations made ready to send. */
function resolveSettings<
  TData,
  TVariables extends OperationVariables,
  TPoke,
  TPokeVariables extends OperationVariables,
>(options: LiveQueryOptions<TData, TVariables, TPoke, TPokeVariables>): LiveQuerySettings<TData> {
  const {
    query,
    variables,
    pokes,
    pokeVariables,
    isFresh,
    maxHeldResults = 3,
    onPoke,
    onData,
    onStatus,
    onError,
  } = options;
  expectInteger('maxHeldResults', maxHeldResults, 0);
  expectOptionalFunction('isFresh', isFresh);
  expectOptionalFunction('onPoke', onPoke);
  expectOptionalFunction('onData', onData);
  expectOptionalFunction('onStatus', onStatus);
  expectOptionalFunction('onError', onError);
  return {
    queryPayload: toPayload(query, variables),
    queryLabel: operationLabel(query),
    pokePayload: toPayload(pokes, pokeVariables),
    pokeLabel: operationLabel(pokes),
    maxHeldResults,
    callbacks: guardCallbacks(options),
  };
}

/** The caller's callbacks, each unable to throw: a throw goes to `onError`. */
function guardCallbacks<
  TData,
  TVariables extends OperationVariables,
  TPoke,
  TPokeVariables extends OperationVariables,
>(options: LiveQueryOptions<TData, TVariables, TPoke, TPokeVariables>): LiveQueryCallbacks<TData> {
  const { isFresh = () => false, onPoke, onData, onStatus } = options;
  // If the caller's error hook fails too, nothing is left to tell.
  const reportError = guardHook(options, 'onError');
  const report = (thrown: unknown): void => reportError(toError(thrown));
  return {
    report,
    status(next) {
      try {
        onStatus?.(next);
      } catch (thrown) {
        report(thrown);
      }
    },
    poke(poke) {
      try {
        onPoke?.(poke as TPoke);
      } catch (thrown) {
        report(thrown);
      }
    },
    data(value, update) {
      try {
        onData?.(value, update);
      } catch (thrown) {
        report(thrown);
      }
    },
    fresh(poke, value) {
      try {
        return isFresh(poke as TPoke, value);
      } catch (thrown) {
        report(thrown);
        return false;
      }
    },
  };
}
