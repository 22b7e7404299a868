/** One log method: a structured object with a message, or a message alone (pino's shape). */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/**
 * What pokegate logs through: the few methods it calls. A pino logger
 * satisfies it as it is; so does a thin wrapper around any other logger.
 */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): Logger;
}

const ignore = (): void => undefined;

/**
 * What a component logs through when it is given no logger: nothing. Every
 * component logs one line per lifecycle step (connected, disconnected,
 * resync, closed), never one per message — except a message it drops as
 * malformed or dead-letters, which is logged with its routing key and reason,
 * through a log throttle: once, then one summary with the count per interval.
 */
export const silentLogger: Logger = Object.freeze({
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  child: () => silentLogger,
});
