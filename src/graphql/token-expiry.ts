import { CloseCode } from 'graphql-ws';
import type { WebSocket } from 'ws';

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

export function createTokenExpiry(): TokenExpiry {
  const now = Date.now;
  const expiries = new Map<WebSocket, number>();
  let timer: NodeJS.Timeout | undefined;
  let armedFor = Infinity;

  const arm = (at: number): void => {
    clearTimeout(timer);
    armedFor = at;
    timer = setTimeout(sweep, Math.min(Math.max(at - now(), 0), maxTimerMs));
    timer.unref();
  };

  function sweep(): void {
    timer = undefined;
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
      clearTimeout(timer);
      timer = undefined;
      armedFor = Infinity;
      expiries.clear();
    },
  };
}
