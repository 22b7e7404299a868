import type { Plugin } from 'graphql-yoga';
import { createSharedSubscribe } from './shared-subscribe.js';

/**
 * Makes yoga (HTTP, SSE, and graphql-ws through `getEnveloped`) execute each
 * subscription's selection once per (document, operation, variables) and
 * source event, and hands every subscriber the same result: N subscribers of
 * one key cost one execution per poke instead of N.
 *
 * When sharing is sound: the field's `subscribe` still runs once per
 * subscriber, with that subscriber's context, so a per-user check there
 * (throw for a caller who may not subscribe to the key) stays per user.
 * What is shared is the execution of the selection over the poke — it runs
 * with the first subscriber's `contextValue`. That is sound when the poke's
 * fields resolve from the poke alone (`resolve: (poke) => poke`, scalars of
 * it), as pokes are meant to. It is not when a field below the subscription
 * root reads the context (per-user fields, masking by role): keep such
 * fields out of poke types, or leave this plugin out.
 */
export function useSharedSubscriptionExecution(): Plugin {
  const subscribe = createSharedSubscribe();
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe);
    },
  };
}
