import { describe, expect, it } from 'vitest';
import { createOperationRateLimit } from '../../src/graphql/operation-rate-limit.js';
import { createKeyedRateLimit, createTokenBucket } from '../../src/graphql/rate-limit.js';
import { ManualClock } from '../utils/manual-clock.js';

const alice = { sub: 'alice', companies: new Set(['c1']), admin: false };

describe('token buckets', () => {
  it('lets a burst through, then refuses with the wait until the next token', async () => {
    const clock = new ManualClock();
    const bucket = createTokenBucket({ ratePerSec: 10, burst: 3, clock });
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 0, 0]);
    expect(bucket.take()).toBe(100);
    await clock.advance(50);
    expect(bucket.take()).toBe(50);
    await clock.advance(50);
    expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBe(100);
  });

  it('keeps one bucket per key, and forgets refilled ones past maxKeys', async () => {
    const clock = new ManualClock();
    const limit = createKeyedRateLimit({ ratePerSec: 1, burst: 1, maxKeys: 2, clock });
    expect([limit.take('a'), limit.take('b'), limit.take('a')]).toEqual([0, 0, 1_000]);
    await clock.advance(1_000);
    expect(limit.take('c')).toBe(0);
    expect(limit.size).toBe(1);
  });

  it('names a bad option', () => {
    expect(() => createTokenBucket({ ratePerSec: 0 })).toThrow(/`ratePerSec`/);
    expect(() => createKeyedRateLimit({ burst: 0.5 })).toThrow(/`burst`/);
    expect(() => createOperationRateLimit({ closeAfterRefusals: 0 })).toThrow(/`closeAfterRefusals`/);
    expect(() => createOperationRateLimit({ perConnection: { burst: -1 } })).toThrow(/`burst`/);
  });
});

describe('operation rate limits', () => {
  it('refuses over the connection bucket with RATE_LIMITED, and closes a connection that keeps going', () => {
    const clock = new ManualClock();
    const limit = createOperationRateLimit({
      perToken: { ratePerSec: 100, burst: 100 },
      perConnection: { ratePerSec: 1, burst: 2 },
      closeAfterRefusals: 3,
      clock,
    });
    const closes: [number, string][] = [];
    const connection = limit.forConnection(alice, (code, reason) => closes.push([code, reason]));
    expect([connection.admit(), connection.admit()]).toEqual([undefined, undefined]);
    const refused = connection.admit();
    expect(refused?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterMs: 1_000 });
    connection.admit();
    expect(closes).toEqual([]);
    connection.admit();
    expect(closes).toEqual([[1008, 'Rate limit exceeded']]);
  });

  it('counts a token across its connections and its HTTP requests', () => {
    const clock = new ManualClock();
    const limit = createOperationRateLimit({ perToken: { ratePerSec: 1, burst: 2 }, clock });
    const first = limit.forConnection(alice, () => undefined);
    const second = limit.forConnection(alice, () => undefined);
    expect(first.admit()).toBeUndefined();
    expect(second.admit()).toBeUndefined();
    expect(limit.take(alice)).toBe(1_000);
    expect(limit.take({ ...alice, sub: 'bob' })).toBe(0);
  });
});
