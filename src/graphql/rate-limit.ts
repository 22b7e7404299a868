import { systemClock, type Clock } from '../common/clock.js';
import { expectInteger, expectNumber } from '../common/validate.js';

export interface RateLimitOptions {
  /**
   * Operations per second, sustained. Minimum: > 0.
   * @default 20
   */
  readonly ratePerSec?: number;
  /**
   * Operations at once after a quiet spell: the bucket's size. Minimum: 1.
   * @default 100
   */
  readonly burst?: number;
  /** @default systemClock */
  readonly clock?: Pick<Clock, 'now'>;
}

/** One token bucket: `take()` answers at once, without a timer. */
export interface TokenBucket {
  /** Takes one token: 0 when there was one, else the milliseconds until there is. */
  take(): number;
}

/** What a bucket holds: its tokens, as of `at` (epoch ms). */
export interface BucketState {
  tokens: number;
  at: number;
}

/** The rule every bucket of one limit follows, validated once and shared by them. */
export interface BucketRule {
  readonly ratePerMs: number;
  readonly burst: number;
  readonly clock: Pick<Clock, 'now'>;
}

/** A full bucket of `rule`. */
export function fullBucket(rule: BucketRule): BucketState {
  return { tokens: rule.burst, at: rule.clock.now() };
}

/** Takes one token of `state`: 0 when there was one, else the milliseconds until there is. */
export function takeToken(state: BucketState, rule: BucketRule): number {
  refill(state, rule.clock.now(), rule.ratePerMs, rule.burst);
  return takeFrom(state, rule.ratePerMs);
}

function refill(state: BucketState, now: number, ratePerMs: number, burst: number): void {
  state.tokens = Math.min(burst, state.tokens + (now - state.at) * ratePerMs);
  state.at = now;
}

function takeFrom(state: BucketState, ratePerMs: number): number {
  if (state.tokens >= 1) {
    state.tokens -= 1;
    return 0;
  }
  return Math.ceil((1 - state.tokens) / ratePerMs);
}

/** The rule of `options`; throws for a rate or burst out of range. */
export function bucketRule(options: RateLimitOptions): BucketRule {
  const { ratePerSec = 20, burst = 100, clock = systemClock } = options;
  expectNumber('ratePerSec', ratePerSec, Number.MIN_VALUE);
  expectInteger('burst', burst, 1);
  return { ratePerMs: ratePerSec / 1_000, burst, clock };
}

/** A bucket for one owner, such as one WebSocket connection. */
export function createTokenBucket(options: RateLimitOptions = {}): TokenBucket {
  const rule = bucketRule(options);
  const state = fullBucket(rule);
  return {
    take: () => takeToken(state, rule),
  };
}

export interface KeyedRateLimitOptions extends RateLimitOptions {
  /**
   * Keys tracked at once; past it, the buckets that have refilled (idle keys,
   * which a fresh bucket would equal) are forgotten. Minimum: 1.
   * @default 100000
   */
  readonly maxKeys?: number;
}

/** A bucket per key (a token's subject), kept only while it matters. */
export interface KeyedRateLimit {
  /** Takes one token of `key`'s bucket: 0 when there was one, else the milliseconds until there is. */
  take(key: string): number;
  /** Keys tracked now. */
  readonly size: number;
}

export function createKeyedRateLimit(options: KeyedRateLimitOptions = {}): KeyedRateLimit {
  const { ratePerMs, burst, clock } = bucketRule(options);
  const { maxKeys = 100_000 } = options;
  expectInteger('maxKeys', maxKeys, 1);
  const buckets = new Map<string, BucketState>();
  const forgetFull = (now: number): void => {
    for (const [key, state] of buckets) {
      refill(state, now, ratePerMs, burst);
      if (state.tokens >= burst) buckets.delete(key);
    }
  };
  return {
    take(key) {
      const now = clock.now();
      let state = buckets.get(key);
      if (state === undefined) {
        if (buckets.size >= maxKeys) forgetFull(now);
        state = { tokens: burst, at: now };
        buckets.set(key, state);
      } else {
        refill(state, now, ratePerMs, burst);
      }
      return takeFrom(state, ratePerMs);
    },
    get size() {
      return buckets.size;
    },
  };
}
