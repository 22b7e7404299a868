import { expectNumber } from './validate.js';

/**
 * How long to wait between two attempts: the gate between two visibility
 * checks, the client and the listeners between two reconnections. Each user
 * documents its own defaults; the gate's are below.
 */
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
