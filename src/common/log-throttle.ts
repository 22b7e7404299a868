import { unreferencedClock, type Clock } from './clock.js';
import { expectInteger } from './validate.js';
import type { Logger } from './logger.js';

export interface LogThrottleOptions {
  readonly logger: Logger;
  /**
   * Length of one interval: a repeated warning is logged once in it, and the
   * repeats are summarised in one line at its end. Minimum: 1.
   * @default 10000
   */
  readonly intervalMs?: number;
  /** @default the system's timers, unreferenced: a pending summary never keeps the process alive */
  readonly clock?: Pick<Clock, 'sleep'>;
}

/** Warnings that a flood would repeat (malformed messages, dead letters, refusals), kept to a few lines. */
export interface LogThrottle {
  /**
   * Logs `message` with `fields` at `warn` the first time `key` occurs in an
   * interval; later ones are only counted, and the interval ends with one line
   * `<message> (repeated)` with `repeated: n` and the last one's fields.
   */
  warn(key: string, fields: Record<string, unknown>, message: string): void;
  /** Logs the pending summaries and stops the timer. Idempotent. */
  dispose(): void;
}

interface Entry {
  readonly message: string;
  fields: Record<string, unknown>;
  repeated: number;
}

/**
 * Its timer runs only while a key has occurred in the last interval, so an
 * owner that never disposes it leaves nothing behind for long.
 */
export function createLogThrottle(options: LogThrottleOptions): LogThrottle {
  const { logger, intervalMs = 10_000, clock = unreferencedClock } = options;
  expectInteger('intervalMs', intervalMs, 1);
  const entries = new Map<string, Entry>();
  const stop = new AbortController();
  let ticking = false;

  const summarise = (): void => {
    for (const [key, entry] of entries) {
      if (entry.repeated === 0) {
        entries.delete(key);
        continue;
      }
      logger.warn({ ...entry.fields, repeated: entry.repeated, intervalMs }, `${entry.message} (repeated)`);
      // Kept, counting afresh: a flood that goes on gives one summary per interval, not one line more.
      entry.repeated = 0;
    }
  };
  const tick = async (): Promise<void> => {
    ticking = true;
    while (entries.size > 0 && (await clock.sleep(intervalMs, stop.signal))) summarise();
    ticking = false;
  };

  return {
    warn(key, fields, message) {
      if (stop.signal.aborted) {
        logger.warn(fields, message);
        return;
      }
      const entry = entries.get(key);
      if (entry !== undefined) {
        entry.repeated++;
        entry.fields = fields;
        return;
      }
      entries.set(key, { message, fields, repeated: 0 });
      logger.warn(fields, message);
      if (!ticking) void tick();
    },
    dispose() {
      if (stop.signal.aborted) return;
      stop.abort();
      summarise();
      entries.clear();
    },
  };
}
