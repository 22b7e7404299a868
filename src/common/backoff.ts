import { expectNumber } from './validate.js';

/**
 * How long to wait between two attempts: the gate between two visibility
 * checks, the client and the listeners between two reconnections. The
 * defaults are each user's own, stated on the option that takes it: the
 * gate's `retry` 10 → 500 ms, a broker or database reconnection 100 →
 * 5,000 ms, the live client's reconnection 500 → 15,000 ms.
 */
export interface BackoffOptions {
  /** The wait after the first failed attempt. Minimum: 0. */
  readonly minDelayMs?: number;
  /** The longest wait between two attempts. Minimum: `minDelayMs`. */
  readonly maxDelayMs?: number;
  /** Each wait is the previous one times this. Minimum: 1. */
  readonly factor?: number;
  /**
   * The share of each wait that is randomised away, from 0 (none) to 1
   * (anything from 0 to the full wait), so that many replicas (or clients)
   * do not retry in step.
   */
  readonly jitter?: number;
}

/** Returns the wait in ms after the given failed attempt (1-based). */
export type Backoff = (attempt: number) => number;

/** The gate's backoff between two visibility checks. */
export const defaultBackoff: Required<BackoffOptions> = Object.freeze({
  minDelayMs: 10,
  maxDelayMs: 500,
  factor: 2,
  jitter: 0.2,
});

/**
 * `options` over `defaults`, each field validated eagerly with a TypeError
 * that names it as `<name>.<field>`.
 */
export function backoffSettings(
  options: BackoffOptions,
  defaults: Required<BackoffOptions> = defaultBackoff,
  name = 'retry',
): Required<BackoffOptions> {
  const {
    minDelayMs = defaults.minDelayMs,
    maxDelayMs = defaults.maxDelayMs,
    factor = defaults.factor,
    jitter = defaults.jitter,
  } = options;
  return {
    minDelayMs: expectNumber(`${name}.minDelayMs`, minDelayMs, 0),
    maxDelayMs: expectNumber(`${name}.maxDelayMs`, maxDelayMs, minDelayMs),
    factor: expectNumber(`${name}.factor`, factor, 1),
    jitter: expectNumber(`${name}.jitter`, jitter, 0, 1),
  };
}

export function createBackoff(
  options: BackoffOptions = {},
  random: () => number = Math.random,
  defaults: Required<BackoffOptions> = defaultBackoff,
): Backoff {
  const { minDelayMs, maxDelayMs, factor, jitter } = backoffSettings(options, defaults);
  return (attempt) => {
    const delay = Math.min(maxDelayMs, minDelayMs * factor ** (attempt - 1));
    return delay * (1 - jitter * random());
  };
}
