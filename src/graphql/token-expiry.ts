import { CloseCode } from 'graphql-ws';
import type { WebSocket } from 'ws';
import { unreferencedClock, type Clock } from '../common/clock.js';

/** Longest delay setTimeout takes; a later expiry is looked at again when it fires. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * Closes each socket with 4403 when its token expires, with one timer for
 * every socket (armed for the earliest expiry) rather than one each: an idle
 * connection then costs a map entry, not a timer and its closure.
 */
export interface TokenExpiry {
  /** Closes `socket` with 4403 at `expiresAt` (epoch ms), at once if that has passed. */
  watch(socket: WebSocket, expiresAt: number): void;
  /** The socket closed: forget it. */
  forget(socket: WebSocket): void;
  /** Clears the timer; idempotent. */
  dispose(): void;
}

/**
 * A token's expiry is a wall-clock time: `Date.now`, not the monotonic clock.
 * The wait never keeps the process alive.
 */
const wallClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => unreferencedClock.sleep(ms, signal),
};

export function createTokenExpiry(clock: Clock = wallClock): TokenExpiry {
  const now = (): number => clock.now();
  const expiries = new Map<WebSocket, number>();
  /** Aborts the one wait, armed for the earliest expiry. */
  let wait: AbortController | undefined;
  let armedFor = Infinity;

  const arm = (at: number): void => {
    wait?.abort();
    const armed = new AbortController();
    wait = armed;
    armedFor = at;
    void clock.sleep(Math.min(Math.max(at - now(), 0), maxTimerMs), armed.signal).then((elapsed) => {
      if (elapsed && wait === armed) sweep();
    });
  };

  function sweep(): void {
    wait = undefined;
    armedFor = Infinity;
    const time = now();
    let next = Infinity;
    for (const [socket, expiresAt] of expiries) {
      if (expiresAt <= time) {
        expiries.delete(socket);
        socket.close(CloseCode.Forbidden, 'Token expired');
      } else if (expiresAt < next) next = expiresAt;
    }
    if (next < Infinity) arm(next);
  }

  return {
    watch(socket, expiresAt) {
      if (expiresAt <= now()) {
        socket.close(CloseCode.Forbidden, 'Token expired');
        return;
      }
      expiries.set(socket, expiresAt);
      if (expiresAt < armedFor) arm(expiresAt);
    },
    forget(socket) {
      expiries.delete(socket);
    },
    dispose() {
      wait?.abort();
      wait = undefined;
      armedFor = Infinity;
      expiries.clear();
    },
  };
}
