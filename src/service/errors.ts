import { PokegateError } from '../core/errors.js';

/**
 * Why a credential was refused:
 * - `missing` — no `authorization` value at all;
 * - `malformed` — not `Bearer <jwt>`, or not a JWT;
 * - `unsupported_algorithm` — signed with anything but HS256 (or not signed);
 * - `invalid_signature` — not signed with this service's secret;
 * - `expired` — past its `exp`;
 * - `invalid_claims` — `sub`, `companies` or `admin` missing or of the wrong type, or not valid yet (`nbf`).
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
