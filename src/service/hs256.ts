import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { errors, UnsecuredJWT, type JWTClaimVerificationOptions, type JWTPayload } from 'jose';

/** The header of an unsecured JWT: only to hand a verified payload to jose's claim checks. */
const unsecuredHeader = Buffer.from('{"alg":"none"}').toString('base64url');

/**
 * Verifies HS256 JWTs with `node:crypto`, synchronously, rather than through
 * WebCrypto as jose does: WebCrypto's HMAC runs each verification as a job
 * that settles a promise a turn later, which cost a renewal (one
 * verification, otherwise a small GraphQL mutation) about a third of its CPU.
 * The signature is checked here; the claims (`exp`, `nbf`, `iss`, `aud`,
 * their types, the clock tolerance) by jose itself, as `jwtVerify` checks them.
 */
export function createHs256Verifier(
  secret: Uint8Array,
): (token: string, options: JWTClaimVerificationOptions) => JWTPayload {
  const key: KeyObject = createSecretKey(secret);
  return (token, options) => {
    const parts = token.split('.');
    if (parts.length !== 3) throw new errors.JWSInvalid('Invalid Compact JWS');
    const [header, payload, signature] = parts as [string, string, string];
    let alg: unknown;
    let crit: unknown;
    try {
      ({ alg, crit } = JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>);
    } catch (error) {
      throw new errors.JWSInvalid('JWS Protected Header is invalid', { cause: error });
    }
    // Pinned, never read from the token; no critical extension is understood.
    if (alg !== 'HS256')
      throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
    if (crit !== undefined) throw new errors.JOSENotSupported('"crit" Header Parameters are not supported');
    // The signature as encoded, not as decoded: a lenient decoder would accept variants of it.
    const expected = Buffer.from(
      createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url'),
    );
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new errors.JWSSignatureVerificationFailed();
    }
    return UnsecuredJWT.decode(`${unsecuredHeader}.${payload}.`, options).payload;
  };
}
