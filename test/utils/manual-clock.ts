import type { Clock } from 'pokegate';

interface Sleeper {
  readonly at: number;
  readonly resolve: (elapsed: boolean) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/** Lets every pending promise callback and p-queue hop run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A clock that moves only when the test says so. */
export class ManualClock implements Clock {
  #now: number;
  #sleepers = new Set<Sleeper>();

  /** @param start the time it shows first, in epoch ms (`Date.now()` where a server checks real tokens). */
  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        at: this.#now + ms,
        resolve,
        signal,
        onAbort: () => {
          this.#sleepers.delete(sleeper);
          resolve(false);
        },
      };
      signal?.addEventListener('abort', sleeper.onAbort, { once: true });
      this.#sleepers.add(sleeper);
    });
  }

  /** Sleeps not yet woken: a disposed component must leave none. */
  get pending(): number {
    return this.#sleepers.size;
  }

  /** Moves time forward, waking each sleeper in order and letting its continuation run. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flush();
    for (;;) {
      let first: Sleeper | undefined;
      for (const sleeper of this.#sleepers) if (first === undefined || sleeper.at < first.at) first = sleeper;
      if (first === undefined || first.at > target) break;
      this.#sleepers.delete(first);
      first.signal?.removeEventListener('abort', first.onAbort);
      this.#now = Math.max(this.#now, first.at);
      first.resolve(true);
      await flush();
    }
    this.#now = target;
    await flush();
  }
}
