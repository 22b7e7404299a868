/**
 * Time as the gate and the registry see it. Inject a fake one in tests instead
 * of faking the global timers.
 */
export interface Clock {
  /** Milliseconds since the epoch; may be fractional. */
  now(): number;
  /**
   * Resolves `true` after `ms`, or `false` as soon as `signal` aborts (at once
   * if it already has). Never rejects, and leaves no timer behind once settled.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>;
}

const origin = performance.timeOrigin;

function timerSleep(ms: number, signal: AbortSignal | undefined, referenced: boolean): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    // Node's timers have `unref`; a browser's (this file is in the client's bundle too) need none.
    if (!referenced) (timer as { unref?: () => void }).unref?.();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The process clock: `performance.now()` on the epoch, and `setTimeout`. */
export const systemClock: Clock = {
  now: () => origin + performance.now(),
  sleep: (ms, signal) => timerSleep(ms, signal, true),
};

/**
 * The process clock whose sleeps never keep the process alive: for work that
 * may be skipped when everything else is done (a log summary still due).
 */
export const unreferencedClock: Clock = {
  now: () => systemClock.now(),
  sleep: (ms, signal) => timerSleep(ms, signal, false),
};
