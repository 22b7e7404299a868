import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { createTokenExpiry, type TokenExpiry } from '../../src/graphql/token-expiry.js';
import { ManualClock } from '../utils/manual-clock.js';

/** Just enough of a socket: it records its close. */
function fakeSocket(closes: string[], name: string): WebSocket {
  return {
    close: (code: number, reason: string) => closes.push(`${name} ${code} ${reason}`),
  } as unknown as WebSocket;
}

let expiry: TokenExpiry | undefined;
afterEach(() => {
  expiry?.dispose();
});

describe('token expiry', () => {
  it('closes each socket with 4403 once its token expires, with one timer for all, and forgets closed ones', async () => {
    const closes: string[] = [];
    const clock = new ManualClock();
    expiry = createTokenExpiry(clock);
    const later = fakeSocket(closes, 'later');
    const sooner = fakeSocket(closes, 'sooner');
    const gone = fakeSocket(closes, 'gone');
    const start = clock.now();
    expiry.watch(later, start + 60);
    expiry.watch(gone, start + 10);
    expiry.watch(sooner, start + 20);
    expiry.forget(gone);
    expect(clock.pending).toBe(1);
    await clock.advance(19);
    expect(closes).toEqual([]);
    await clock.advance(1);
    expect(closes).toEqual(['sooner 4403 Token expired']);
    await clock.advance(39);
    expect(closes).toEqual(['sooner 4403 Token expired']);
    await clock.advance(1);
    expect(closes).toEqual(['sooner 4403 Token expired', 'later 4403 Token expired']);
    expect(clock.pending).toBe(0);
  });

  it('closes a socket whose token has already expired at once', () => {
    const closes: string[] = [];
    const clock = new ManualClock();
    expiry = createTokenExpiry(clock);
    expiry.watch(fakeSocket(closes, 'stale'), clock.now() - 1);
    expect(closes).toEqual(['stale 4403 Token expired']);
    expect(clock.pending).toBe(0);
  });

  it('leaves no wait behind once disposed', () => {
    const clock = new ManualClock();
    expiry = createTokenExpiry(clock);
    expiry.watch(fakeSocket([], 'open'), clock.now() + 1_000);
    expiry.dispose();
    expect(clock.pending).toBe(0);
  });
});
