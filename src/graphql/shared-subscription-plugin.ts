import type { Plugin } from 'graphql-yoga';
import { createSharedSubscribe } from './shared-subscribe.js';

/**
 * Makes yoga (HTTP, SSE, and graphql-ws through `getEnveloped`) execute each
 * subscription's selection once per (document, variables) and source event,
 * shared by every subscriber — see `createSharedSubscribe` for when that is sound.
 */
export function useSharedSubscriptionExecution(): Plugin {
  const subscribe = createSharedSubscribe();
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe);
    },
  };
}
