import { CloseCode } from 'graphql-ws';
import type { WebSocket } from 'ws';
import { unreferencedClock, type Clock } from '../common/clock.js';

/** Longest delay setTimeout takes; a later expiry is looked at again when it fires. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * Closes each socket with 4403 when its token expires, with one timer for
 * every socket (armed for the earliest expiry) rather than one each: an idle
 * connection then costs two map entries, not a timer and its closure. The
 * sockets are kept by their expiry as well, so that the timer looks only at
 * the sockets due: JWT expiries are whole seconds, a few hundred distinct
 * ones for thousands of sockets, and the earliest of them moves at every
 * renewal, which would otherwise walk every socket each time.
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
  /** Each socket's expiry, and the sockets of each expiry. */
  const expiries = new Map<WebSocket, number>();
  const due = new Map<number, Set<WebSocket>>();
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

  const unlist = (socket: WebSocket): void => {
    const expiresAt = expiries.get(socket);
    if (expiresAt === undefined) return;
    expiries.delete(socket);
    const sockets = due.get(expiresAt);
    sockets?.delete(socket);
    if (sockets?.size === 0) due.delete(expiresAt);
  };

  function sweep(): void {
    wait = undefined;
    armedFor = Infinity;
    const time = now();
    let next = Infinity;
    for (const [expiresAt, sockets] of due) {
      if (expiresAt <= time) {
        due.delete(expiresAt);
        for (const socket of sockets) {
          expiries.delete(socket);
          socket.close(CloseCode.Forbidden, 'Token expired');
        }
      } else if (expiresAt < next) next = expiresAt;
    }
    if (next < Infinity) arm(next);
  }

  return {
    watch(socket, expiresAt) {
      unlist(socket);
      if (expiresAt <= now()) {
        socket.close(CloseCode.Forbidden, 'Token expired');
        return;
      }
      expiries.set(socket, expiresAt);
      const sockets = due.get(expiresAt);
      if (sockets === undefined) due.set(expiresAt, new Set([socket]));
      else sockets.add(socket);
      if (expiresAt < armedFor) arm(expiresAt);
    },
    forget: unlist,
    dispose() {
      wait?.abort();
      wait = undefined;
      armedFor = Infinity;
      expiries.clear();
      due.clear();
    },
  };
}
