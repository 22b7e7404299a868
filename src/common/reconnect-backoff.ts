import type { BackoffOptions } from './backoff.js';

/** The waits of a server-side connection (broker, database) between two reconnection attempts. */
export const defaultReconnectBackoff: Required<BackoffOptions> = Object.freeze({
  minDelayMs: 100,
  maxDelayMs: 5_000,
  factor: 2,
  jitter: 0.2,
});
