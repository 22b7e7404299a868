import { GraphQLError } from 'graphql';
import type { Clock } from '../common/clock.js';
import { expectInteger } from '../common/validate.js';
import type { ConnectionPrincipal } from './principal.js';
import {
  bucketRule,
  createKeyedRateLimit,
  fullBucket,
  takeToken,
  type BucketRule,
  type BucketState,
  type RateLimitOptions,
} from './rate-limit.js';

/** The `extensions.code` of an operation refused by a rate limit. */
export const rateLimitedCode = 'RATE_LIMITED';

export interface OperationRateLimitOptions {
  /**
   * Operations of one token's subject (`sub`), over HTTP, SSE and WebSocket together.
   * @default { ratePerSec: 50, burst: 200 }
   */
  readonly perToken?: Omit<RateLimitOptions, 'clock'>;
  /**
   * `subscribe` messages of one WebSocket connection.
   * @default { ratePerSec: 20, burst: 100 }
   */
  readonly perConnection?: Omit<RateLimitOptions, 'clock'>;
  /**
   * Refusals in a row after which a connection that keeps going is closed
   * with 1008. Minimum: 1.
   * @default 20
   */
  readonly closeAfterRefusals?: number;
  /** Called for every refused operation, for a (throttled) log line. @default nothing */
  readonly onRefused?: (principal: ConnectionPrincipal, scope: 'token' | 'connection') => void;
  /** @default systemClock */
  readonly clock?: Pick<Clock, 'now'>;
}

/** What a connection's operations go through. */
export interface ConnectionAdmission {
  /**
   * `undefined` when the connection's principal may run one more operation
   * on it; else the error to answer it with. Calls `close` once the
   * connection has been refused `closeAfterRefusals` times in a row.
   */
  admit(): GraphQLError | undefined;
}

export interface OperationRateLimit {
  /** 0 when `principal` may run one more operation, else the milliseconds to wait. */
  take(principal: ConnectionPrincipal): number;
  /** The admission of one new WebSocket connection of `principal`, with its own bucket. */
  forConnection(
    principal: ConnectionPrincipal,
    close: (code: number, reason: string) => void,
  ): ConnectionAdmission;
}

/**
 * Token buckets per token and per connection: a refusal is decided in
 * microseconds, before the operation is parsed, so a client over its limit
 * costs the others next to nothing.
 */
export function createOperationRateLimit(options: OperationRateLimitOptions = {}): OperationRateLimit {
  const {
    perToken = { ratePerSec: 50, burst: 200 },
    perConnection = { ratePerSec: 20, burst: 100 },
    closeAfterRefusals = 20,
    onRefused = () => undefined,
    clock,
  } = options;
  expectInteger('closeAfterRefusals', closeAfterRefusals, 1);
  const tokens = createKeyedRateLimit({ ...perToken, ...(clock === undefined ? {} : { clock }) });
  const take = (principal: ConnectionPrincipal): number => {
    const waitMs = tokens.take(principal.sub);
    if (waitMs > 0) onRefused(principal, 'token');
    return waitMs;
  };
  const limit: ConnectionLimit = {
    rule: bucketRule({ ...perConnection, ...(clock === undefined ? {} : { clock }) }),
    closeAfterRefusals,
    onRefused,
    take,
  };
  return {
    take,
    forConnection: (principal, close) => new Admission(limit, principal, close),
  };
}

/** What every connection's admission shares. */
interface ConnectionLimit {
  readonly rule: BucketRule;
  readonly closeAfterRefusals: number;
  readonly onRefused: (principal: ConnectionPrincipal, scope: 'token' | 'connection') => void;
  /** The per-token limit. */
  readonly take: (principal: ConnectionPrincipal) => number;
}

/**
 * One connection's admission: its own bucket and refusals in a row, the rest
 * shared. A class rather than closures: one lives as long as its connection.
 */
class Admission implements ConnectionAdmission {
  readonly #limit: ConnectionLimit;
  readonly #principal: ConnectionPrincipal;
  readonly #close: (code: number, reason: string) => void;
  readonly #bucket: BucketState;
  #refusals = 0;

  constructor(
    limit: ConnectionLimit,
    principal: ConnectionPrincipal,
    close: (code: number, reason: string) => void,
  ) {
    this.#limit = limit;
    this.#principal = principal;
    this.#close = close;
    this.#bucket = fullBucket(limit.rule);
  }

  admit(): GraphQLError | undefined {
    const limit = this.#limit;
    const principal = this.#principal;
    const connectionWaitMs = takeToken(this.#bucket, limit.rule);
    if (connectionWaitMs > 0) limit.onRefused(principal, 'connection');
    const waitMs = Math.max(connectionWaitMs, limit.take(principal));
    if (waitMs === 0) {
      this.#refusals = 0;
      return undefined;
    }
    if (++this.#refusals >= limit.closeAfterRefusals) this.#close(1008, 'Rate limit exceeded');
    return rateLimitedError(waitMs);
  }
}

/** The GraphQL error of a refused operation; `retryAfterMs` says when one more would pass. */
export function rateLimitedError(waitMs: number): GraphQLError {
  return new GraphQLError(`Rate limit exceeded: retry in ${waitMs} ms`, {
    extensions: { code: rateLimitedCode, retryAfterMs: waitMs },
  });
}
