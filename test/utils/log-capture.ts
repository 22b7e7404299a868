import { pino, type Logger } from 'pino';

export interface LogLine {
  readonly msg?: string;
  readonly reason?: unknown;
  readonly routingKey?: unknown;
  readonly [field: string]: unknown;
}

export interface CapturedLogs {
  readonly logger: Logger;
  /** Every line logged so far, parsed. */
  readonly lines: LogLine[];
}

/** A real pino logger whose lines are kept for the test to read. */
export function captureLogs(): CapturedLogs {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return { logger, lines };
}
