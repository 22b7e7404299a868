// The callers of the gate's `idle()` and `queuedBelow()`, each woken when the
// count it waits on drops, or when its signal aborts. The gate keeps the
// counts and tells these lists when they change.

export interface GateWaiters {
  /** Resolves at the next `drained()`, or as soon as `signal` aborts. */
  untilIdle(signal: AbortSignal | undefined): Promise<void>;
  /** Resolves at the first `queuedNow(n)` with `n < limit`, or as soon as `signal` aborts. */
  untilBelow(limit: number, signal: AbortSignal | undefined): Promise<void>;
  /** Nothing is pending any more: wakes every `untilIdle`. */
  drained(): void;
  /** The queued count went down to `queued`: wakes every `untilBelow` whose limit is above it. */
  queuedNow(queued: number): void;
}

interface BelowWaiter {
  readonly limit: number;
  readonly done: () => void;
}

export function createGateWaiters(): GateWaiters {
  let idle: (() => void)[] = [];
  let below: BelowWaiter[] = [];
  return {
    untilIdle(signal) {
      return new Promise((resolve) => {
        const done = (): void => {
          signal?.removeEventListener('abort', done);
          resolve();
        };
        signal?.addEventListener('abort', done, { once: true });
        idle.push(done);
      });
    },
    untilBelow(limit, signal) {
      return new Promise((resolve) => {
        const waiter: BelowWaiter = {
          limit,
          done: () => {
            signal?.removeEventListener('abort', waiter.done);
            // A new array: `queuedNow` may be iterating the old one.
            below = below.filter((other) => other !== waiter);
            resolve();
          },
        };
        signal?.addEventListener('abort', waiter.done, { once: true });
        below.push(waiter);
      });
    },
    drained() {
      const waiters = idle;
      idle = [];
      for (const wake of waiters) wake();
    },
    queuedNow(queued) {
      if (below.length === 0) return;
      for (const waiter of below) if (queued < waiter.limit) waiter.done();
    },
  };
}
