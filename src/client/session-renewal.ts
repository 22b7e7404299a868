import type { Clock } from '../common/clock.js';
import { toError } from '../common/errors.js';
import { expectFunction, expectInteger, expectNumber, expectThat } from '../common/validate.js';
import { OperationError } from './errors.js';
import type { Session } from './session.js';

export interface SessionRenewalOptions {
  /**
   * How long before its token expires a connection renews it: a token that
   * lives less than four times as long renews at three quarters of its life.
   * Minimum: 0.
   * @default 30000
   */
  readonly marginMs?: number;
  /**
   * The share of each wait that is randomised away, from 0 (none) to 1, so
   * that the clients of a company, which logged in together, do not renew
   * together: a renewal starts up to this share of its wait earlier.
   * @default 0.2
   */
  readonly jitter?: number;
  /**
   * The mutation that renews the connection's session, with one variable
   * `$token` (the bare token).
   * @default 'mutation RefreshSession($token: String!) { refreshSession(token: $token) { expiresAt } }'
   */
  readonly mutation?: string;
}

/** What became of one renewal, for `LiveClientOptions.onRenewal`. */
export type RenewalEvent =
  | {
      readonly outcome: 'renewed';
      /** The new token's `exp`, in epoch ms; undefined when it has none. */
      readonly expiresAt: number | undefined;
    }
  | {
      /** `getToken` threw, or the server refused the renewal: the client reconnects. */
      readonly outcome: 'failed';
      readonly error: Error;
    };

/** The renewal settings of one client, validated. */
export interface RenewalSettings {
  readonly getToken: () => string | Promise<string>;
  readonly marginMs: number;
  readonly jitter: number;
  readonly mutation: string;
  readonly clock: Clock;
  readonly random: () => number;
  /** Guarded. */
  readonly onRenewal: (event: RenewalEvent) => void;
}

const defaultMutation =
  'mutation RefreshSession($token: String!) { refreshSession(token: $token) { expiresAt } }';
const label = 'mutation RefreshSession';

export function renewalSettings(
  getToken: () => string | Promise<string>,
  options: SessionRenewalOptions,
  rest: Pick<RenewalSettings, 'clock' | 'random' | 'onRenewal'>,
): RenewalSettings {
  expectFunction('getToken', getToken);
  const { marginMs = 30_000, jitter = 0.2, mutation = defaultMutation } = options;
  expectInteger('renewal.marginMs', marginMs, 0);
  expectNumber('renewal.jitter', jitter, 0, 1);
  expectThat(
    'renewal.mutation',
    mutation,
    typeof mutation === 'string' && mutation.includes('$token'),
    'a mutation with a $token variable',
  );
  return { getToken, marginMs, jitter, mutation, ...rest };
}

/**
 * Renews `session` before `token` expires, and each new token before it
 * expires, until `signal` aborts (the session ended). When `getToken` throws
 * or the server answers the renewal with errors, calls `fallBack`: the
 * client reconnects, with a token from `getToken` again.
 */
export function keepRenewing(
  session: Session,
  token: string,
  settings: RenewalSettings,
  signal: AbortSignal,
  fallBack: (error: Error) => void,
): void {
  const { getToken, mutation, clock, onRenewal } = settings;
  const fail = (error: Error): void => {
    if (signal.aborted) return;
    onRenewal({ outcome: 'failed', error });
    fallBack(error);
  };
  void (async () => {
    for (let current = token; ;) {
      const leftMs = tokenLifeLeftMs(current, clock.now());
      if (leftMs === undefined) return; // never expires, or not a JWT: nothing to renew
      if (!(await clock.sleep(renewalDelayMs(leftMs, settings), signal))) return;
      let next: string;
      try {
        next = await getToken();
      } catch (thrown) {
        fail(toError(thrown));
        return;
      }
      if (signal.aborted) return;
      let errors;
      try {
        ({ errors } = await session.execute({ query: mutation, variables: { token: next } }, label, signal));
      } catch {
        return; // the session ended: the client reconnects anyway
      }
      if (errors !== undefined && errors.length > 0) {
        fail(new OperationError(label, errors));
        return;
      }
      current = next;
      onRenewal({ outcome: 'renewed', expiresAt: tokenExpiry(next) });
    }
  })();
}

/**
 * The wait before renewing a token with `leftMs` to live: it renews
 * `marginMs` before expiry (at three quarters of its life when shorter), up
 * to `jitter` of that wait earlier, at random.
 */
export function renewalDelayMs(
  leftMs: number,
  settings: Pick<RenewalSettings, 'marginMs' | 'jitter' | 'random'>,
): number {
  const { marginMs, jitter, random } = settings;
  const wait = Math.max(0, leftMs - Math.min(marginMs, leftMs / 4));
  return Math.round(wait * (1 - jitter * random()));
}

/**
 * How long a token just obtained has to live, at `now` by the client's
 * clock. The lesser of `exp − now` and, when it has `iat`, `exp − iat`: a
 * client clock that runs behind the issuer's would make the first too long,
 * a token handed out from a cache the second.
 */
export function tokenLifeLeftMs(token: string, now: number): number | undefined {
  const claims = tokenClaims(token);
  if (claims?.exp === undefined) return undefined;
  const left = claims.exp * 1_000 - now;
  return claims.iat === undefined ? left : Math.min(left, (claims.exp - claims.iat) * 1_000);
}

/**
 * A JWT's `exp` in epoch ms, read without verifying it (the server does
 * that): only to know when to renew. Undefined for a token without `exp`, or
 * one that is not a JWT.
 */
export function tokenExpiry(token: string): number | undefined {
  const exp = tokenClaims(token)?.exp;
  return exp === undefined ? undefined : exp * 1_000;
}

/** A JWT's `exp` and `iat` (epoch seconds), unverified; undefined for what is not a JWT. */
function tokenClaims(token: string): { exp?: number; iat?: number } | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const base64 = payload.replaceAll('-', '+').replaceAll('_', '/');
    const claims: unknown = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')));
    if (typeof claims !== 'object' || claims === null) return undefined;
    const { exp, iat } = claims as { exp?: unknown; iat?: unknown };
    const seconds = (value: unknown): number | undefined =>
      typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    const found: { exp?: number; iat?: number } = {};
    const expiry = seconds(exp);
    const issued = seconds(iat);
    if (expiry !== undefined) found.exp = expiry;
    if (issued !== undefined) found.iat = issued;
    return found;
  } catch {
    return undefined;
  }
}
