import type { Clock } from '../common/clock.js';

/** How a producer's run ended: its value, its throw, the budget, or an interruption (dispose). */
export type Race = { readonly value: unknown } | { readonly error: unknown } | 'timeout' | 'interrupted';

/**
 * Races an async producer's result against the rest of its budget (until
 * `deadline` on `clock`) and against `interrupt`, which the caller keeps to
 * end the race early; the timer is cleared once the race settles.
 */
export function raceProducer(
  result: PromiseLike<unknown>,
  deadline: number,
  clock: Clock,
  onInterrupt: (interrupt: (() => void) | undefined) => void,
): Promise<Race> {
  const timer = new AbortController();
  return new Promise<Race>((resolve) => {
    onInterrupt(() => {
      resolve('interrupted');
    });
    void clock.sleep(deadline - clock.now(), timer.signal).then((elapsed) => {
      if (elapsed) resolve('timeout');
    });
    result.then(
      (value) => {
        resolve({ value });
      },
      (error: unknown) => {
        resolve({ error });
      },
    );
  }).finally(() => {
    onInterrupt(undefined);
    // With a reason: `abort()` alone builds a DOMException, stack and all, once per check.
    timer.abort('settled');
  });
}
