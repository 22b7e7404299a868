import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { maskError, type MaskError } from 'graphql-yoga';
import { silentLogger, type Logger } from '../common/logger.js';

/** The `extensions.code` of a masked internal error. */
export const internalErrorCode = 'INTERNAL_SERVER_ERROR';

export interface InternalErrorsOptions {
  /** Where each internal error is logged, once, with its id. @default a silent logger */
  readonly logger?: Logger;
  /**
   * Hides internal errors' messages from clients (`NODE_ENV=production`):
   * they get "Unexpected error." and the id only.
   * @default false
   */
  readonly masked?: boolean;
  /** @default crypto.randomUUID */
  readonly newId?: () => string;
}

export interface InternalErrors {
  /** Logs `error` once under a new id; returns the id and what the client may read. */
  report(error: unknown, where: string): { readonly errorId: string; readonly message: string };
  /** yoga's `maskedErrors.maskError`: a GraphQL error the client caused passes, anything else is reported. */
  readonly maskError: MaskError;
  /** Whether `error` has been logged here already: yoga would log it a second time. */
  reported(error: unknown): boolean;
}

/**
 * One place where an unexpected error becomes a log line and an id: the
 * client gets the same id (`extensions.errorId`, or the WebSocket close
 * reason), so a report from a user finds its log line.
 */
export function createInternalErrors(options: InternalErrorsOptions = {}): InternalErrors {
  const { logger = silentLogger, masked = false, newId = randomUUID } = options;
  const logged = new WeakSet<object>();
  const report = (error: unknown, where: string) => {
    const errorId = newId();
    if (typeof error === 'object' && error !== null) logged.add(error);
    logger.error({ err: error, errorId, where }, 'internal error');
    const message = masked || !(error instanceof Error) ? 'Unexpected error.' : error.message;
    return { errorId, message };
  };
  return {
    report,
    reported: (error) => typeof error === 'object' && error !== null && logged.has(error),
    maskError(error, message, isDev) {
      const safe = maskError(error, message, isDev);
      if (safe === error || !(safe instanceof GraphQLError)) return safe;
      const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
      const { errorId } = report(original, 'graphql');
      if (typeof error === 'object' && error !== null) logged.add(error);
      return new GraphQLError(safe.message, {
        nodes: safe.nodes ?? null,
        source: safe.source ?? null,
        positions: safe.positions ?? null,
        path: safe.path ?? null,
        extensions: { ...safe.extensions, code: internalErrorCode, errorId },
      });
    },
  };
}
