import type { Clock } from '../common/clock.js';

/** A thing at a version: "order o-1 at version 7 or later". */
export interface VersionTarget {
  /** What the commit reports name, e.g. the order id. */
  readonly key: string;
  readonly version: number;
}

/** "Is `target` visible in this replica's read view now?" */
export type VisibilityCheck<T extends VersionTarget> = (
  target: T,
  options: { readonly signal: AbortSignal },
) => Promise<boolean>;

interface Waiter {
  readonly version: number;
  /** Ends the waiter's current sleep, so it checks again at once. */
  wake(): void;
}

export interface VisibilityWaiters {
  /** A commit made `key` visible at `version`: wakes the waits for it or an older version. */
  notify(key: string, version: number): void;
  /**
   * Resolves true once `check` finds `target` visible, or false as soon as
   * `signal` aborts. Checks at once, then again on each `notify` that covers
   * the target, and every `pollIntervalMs` in case a notification was lost.
   * A check that throws while `signal` is live rejects with its error.
   */
  wait<T extends VersionTarget>(target: T, check: VisibilityCheck<T>, signal: AbortSignal): Promise<boolean>;
  /** Waits now. */
  readonly waiting: number;
}

/**
 * Waits of read requests for versions this replica has not shown yet, woken
 * by the commit reports of its read view. A forward index only (key →
 * waiters): a wait removes itself when it ends, and an empty key is deleted.
 */
export function createVisibilityWaiters(clock: Clock, pollIntervalMs: number): VisibilityWaiters {
  const byKey = new Map<string, Set<Waiter>>();
  let waiting = 0;

  return {
    get waiting() {
      return waiting;
    },
    notify(key, version) {
      const waiters = byKey.get(key);
      if (waiters === undefined) return;
      for (const waiter of waiters) if (waiter.version <= version) waiter.wake();
    },
    async wait(target, check, signal) {
      // A function, not the property: TypeScript would keep the first test's answer across the awaits.
      const ended = (): boolean => signal.aborted;
      if (ended()) return false;
      let round = new AbortController();
      const waiter: Waiter = { version: target.version, wake: () => round.abort() };
      const onAbort = (): void => round.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      let waiters = byKey.get(target.key);
      if (waiters === undefined) byKey.set(target.key, (waiters = new Set()));
      // Registered before the first check: a commit between the check and the sleep still wakes it.
      waiters.add(waiter);
      waiting++;
      try {
        for (;;) {
          try {
            if (await check(target, { signal })) return true;
          } catch (error) {
            if (ended()) return false;
            throw error;
          }
          if (ended()) return false;
          // Until a commit that covers the target, or the poll interval: then check again.
          await clock.sleep(pollIntervalMs, round.signal);
          if (ended()) return false;
          if (round.signal.aborted) round = new AbortController();
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
        waiters.delete(waiter);
        if (waiters.size === 0 && byKey.get(target.key) === waiters) byKey.delete(target.key);
        waiting--;
      }
    },
  };
}
