import type { Duplex } from 'node:stream';

/**
 * Sockets of a synchronous run (one fan-out) whose first frame leaves at once;
 * see `createWriteBatch`.
 */
export const immediateSockets = 8;

/**
 * One fan-out often sends several frames to one socket (a client with several
 * subscriptions): `hold` corks the socket's TCP stream until the fan-out's
 * synchronous run is over, so they leave in one write instead of one each,
 * and the writes of a large fan-out leave in one burst. The first frames of
 * the first `immediate` sockets of a run are not held: they leave at once, so
 * a large fan-out's first subscribers do not wait until it has made every
 * frame. Only these few: writes spread over the run would cost more CPU than
 * one burst, for the sender and for the peers they wake.
 */
export function createWriteBatch(immediate = immediateSockets): {
  /** Marks the next frame written to `stream`, the one a socket writes its frames to. */
  readonly hold: (stream: Duplex) => void;
} {
  /** The streams written to in the current run: true once corked. */
  const written = new Map<Duplex, boolean>();
  const release = (): void => {
    for (const [stream, corked] of written) if (corked) stream.uncork();
    written.clear();
  };
  return {
    hold(stream) {
      const corked = written.get(stream);
      if (corked === true) return;
      if (written.size === 0) queueMicrotask(release);
      if (corked === undefined && written.size < immediate) {
        written.set(stream, false);
        return;
      }
      stream.cork();
      written.set(stream, true);
    },
  };
}
