import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { createTokenExpiry, type TokenExpiry } from '../../src/graphql/token-expiry.js';
import { waitFor } from '../utils/wait-for.js';

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
    expiry = createTokenExpiry();
    const later = fakeSocket(closes, 'later');
    const sooner = fakeSocket(closes, 'sooner');
    const gone = fakeSocket(closes, 'gone');
    const start = Date.now();
    expiry.watch(later, start + 60);
    expiry.watch(gone, start + 10);
    expiry.watch(sooner, start + 20);
    expiry.forget(gone);
    await waitFor('both expiries', () => closes.length === 2);
    expect(closes).toEqual(['sooner 4403 Token expired', 'later 4403 Token expired']);
  });

  it('closes a socket whose token has already expired at once', () => {
    const closes: string[] = [];
    expiry = createTokenExpiry();
    expiry.watch(fakeSocket(closes, 'stale'), Date.now() - 1);
    expect(closes).toEqual(['stale 4403 Token expired']);
  });
});
