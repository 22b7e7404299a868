import type { Clock } from '../common/clock.js';

/**
 * Interest routing: the transient queue is bound to a key's events only while
 * the key has local receivers, so a replica receives only what its
 * subscribers need. See DESIGN.md, "Interest routing".
 */
export interface InterestOptions {
  /**
   * The binding patterns of one key's events, e.g. `(companyId) =>
   * [\`orders.*.${tenantWord(companyId)}\`]`. Called once when the key gets
   * its first receiver (never for the wildcard `"*"`). A throw, or a result
   * without a valid pattern, is counted (`interestRefused`) and logged once
   * per interval, and the key is covered by `wide` instead.
   */
  readonly patterns: (key: string, registry: string) => readonly string[];
  /**
   * The patterns that take every event the keys' patterns could, e.g.
   * `['orders.#']`: bound for a wildcard receiver, past `maxBindings`, and
   * for a key whose patterns were refused.
   */
  readonly wide: readonly string[];
  /**
   * How long a key's binding stays after its last receiver left, so a
   * client that reconnects or a page that reloads finds it in place. Minimum: 0.
   * @default 30000
   */
  readonly lingerMs?: number;
  /**
   * Key patterns bound at most: past it the queue is bound to `wide`
   * instead (deleting a queue blocks the broker's publishers for about
   * 0.1 s per 1,000 bindings; see docs/interest-routing.md). Minimum: 1.
   * @default 1000
   */
  readonly maxBindings?: number;
  /**
   * Once bound to `wide` for `maxBindings`, the queue goes back to key
   * patterns when they number this or fewer. Minimum: 0, at most `maxBindings`.
   * @default three quarters of `maxBindings`, rounded down
   */
  readonly resumeBindings?: number;
  /** @default the system clock */
  readonly clock?: Clock;
}

/** What the consumer's queue does on the broker (or the bus): one operation at a time. */
export interface BindingPort {
  /** Resolves once the broker confirmed the binding (bind-ok). */
  bind(pattern: string): Promise<void>;
  unbind(pattern: string): Promise<void>;
}
