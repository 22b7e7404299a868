import { expectNumber } from './validate.js';

/** How long the gate waits between two visibility checks of one submission. */
export interface BackoffOptions {
  /**
   * The wait after the first check that found nothing. Minimum: 0.
   * @default 10
   */
  readonly minDelayMs?: number;
  /**
   * The longest wait between two checks. Minimum: `minDelayMs`.
   * @default 500
   */
  readonly maxDelayMs?: number;
  /**
   * Each wait is the previous one times this. Minimum: 1.
   * @default 2
   */
  readonly factor?: number;
  /**
   * The share of each wait that is randomised away, from 0 (none) to 1
   * (anything from 0 to the full wait), so that many replicas checking the
   * same read view do not hit it in step.
   * @default 0.2
   */
  readonly jitter?: number;
}

/** Returns the wait in ms after the given failed attempt (1-based). */
export type Backoff = (attempt: number) => number;

export function createBackoff(options: BackoffOptions = {}, random: () => number = Math.random): Backoff {
  const { minDelayMs = 10, maxDelayMs = 500, factor = 2, jitter = 0.2 } = options;
  expectNumber('retry.minDelayMs', minDelayMs, 0);
  expectNumber('retry.maxDelayMs', maxDelayMs, minDelayMs);
  expectNumber('retry.factor', factor, 1);
  expectNumber('retry.jitter', jitter, 0, 1);
  return (attempt) => {
    const delay = Math.min(maxDelayMs, minDelayMs * factor ** (attempt - 1));
    return delay * (1 - jitter * random());
  };
}
