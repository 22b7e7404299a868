import type { GraphQLFormattedError } from 'graphql';
import { PokegateError } from '../common/errors.js';

/** How a WebSocket connection ended: its close code and reason. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/** An operation answered with GraphQL errors (and no usable data). */
export class OperationError extends PokegateError {
  override name = 'OperationError';
  readonly errors: readonly GraphQLFormattedError[];
  constructor(operation: string, errors: readonly GraphQLFormattedError[]) {
    const first = errors[0]?.message ?? 'no message';
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    super(`${operation} failed: ${first}${more}`);
    this.errors = errors;
  }
}

/**
 * The connection closed before the operation's answer. A mutation may or may
 * not have run: it is never sent again on its own.
 */
export class ConnectionClosedError extends PokegateError {
  override name = 'ConnectionClosedError';
  readonly code: number;
  readonly reason: string;
  constructor(operation: string, close: CloseInfo) {
    super(`${operation}: the connection closed before the answer (${describeClose(close)})`);
    this.code = close.code;
    this.reason = close.reason;
  }
}

/** The client gave up: a close that `shouldRetry` refused, such as 4403 for a bad or expired token. */
export class ConnectionFailedError extends PokegateError {
  override name = 'ConnectionFailedError';
  readonly code: number;
  readonly reason: string;
  constructor(close: CloseInfo, attempts: number, options?: ErrorOptions) {
    super(`Not retrying after ${describeClose(close)} (${attempts} attempts)`, options);
    this.code = close.code;
    this.reason = close.reason;
  }
}

export function describeClose(close: CloseInfo): string {
  return close.reason === '' ? `close ${close.code}` : `close ${close.code} "${close.reason}"`;
}
