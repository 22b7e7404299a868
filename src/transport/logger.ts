import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * What a component logs through when it is given no logger: nothing. Every
 * component logs one line per lifecycle step (connected, disconnected,
 * resync, closed), never one per message — except a message it drops as
 * malformed or dead-letters, which is logged with its routing key and reason,
 * through a log throttle: once, then one summary with the count per interval.
 */
export const silentLogger: Logger = pino({ level: 'silent' });

/** The message of anything thrown, for a log line. */
export function reasonOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}
