import { PokegateError } from 'pokegate';

/**
 * Why a credential was refused:
 * - `missing` — no `authorization` value at all;
 * - `malformed` — not `Bearer <jwt>`, or not a JWT;
 * - `unsupported_algorithm` — signed with anything but the pinned algorithm (HS256, or `AUTH_JWKS_ALGORITHM`), or not signed;
 * - `invalid_signature` — not signed with this service's secret, or with no key of the key set;
 * - `expired` — past its `exp`;
 * - `invalid_claims` — `sub`, `companies` or `admin` missing or of the wrong type, not valid yet
 *   (`nbf`), or another issuer or audience than the configured ones.
 */
export type AuthFailure =
  'missing' | 'malformed' | 'unsupported_algorithm' | 'invalid_signature' | 'expired' | 'invalid_claims';

/**
 * A missing or bad token: HTTP answers 401, WebSocket closes with 4403. The
 * message is safe to show the client: it never contains the token.
 */
export class AuthenticationError extends PokegateError {
  override name = 'AuthenticationError';
  readonly reason: AuthFailure;
  constructor(reason: AuthFailure, detail: string, options?: { readonly cause?: unknown }) {
    super(`Unauthorized: ${detail}`, options);
    this.reason = reason;
  }
}
