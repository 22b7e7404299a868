import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { toError } from 'pokegate';
import { WILDCARD } from 'pokegate';
import { expectNumber } from 'pokegate';
import { AuthenticationError } from './errors.js';

/** Who a verified token speaks for. */
export interface Principal {
  /** The token's `sub`. */
  readonly sub: string;
  /** The companies whose orders this principal may read, write and subscribe to. */
  readonly companies: ReadonlySet<string>;
  /** May use the `"*"` view, and every company. */
  readonly admin: boolean;
  /** When the token expires, in epoch milliseconds (like `Date.now()`); absent for a token without `exp`. */
  readonly expiresAt?: number;
}

export interface AuthenticatorOptions {
  /** The HS256 secret (`AUTH_SECRET`): at least 32 bytes (RFC 7518 §3.2). Required unless `jwksUrl` is given. */
  readonly secret?: string | Uint8Array | undefined;
  /**
   * An identity provider's key set (`AUTH_JWKS_URL`), fetched and cached by
   * jose's `createRemoteJWKSet`; tokens are then verified with its keys and
   * `jwksAlgorithm`, not with `secret`.
   * @default undefined — HS256 with `secret`
   */
  readonly jwksUrl?: string | undefined;
  /**
   * The one algorithm the key set's tokens may use: pinned, never read from the token.
   * @default 'RS256'
   */
  readonly jwksAlgorithm?: string;
  /** When set, a token's `iss` must equal it. @default undefined — not checked */
  readonly issuer?: string | undefined;
  /** When set, a token's `aud` must contain it. @default undefined — not checked */
  readonly audience?: string | undefined;
  /**
   * Leeway for `exp` and `nbf`, for clocks that disagree a little. The
   * principal's `expiresAt` is the token's `exp` itself, without it. Minimum: 0.
   * @default 0
   */
  readonly clockToleranceSec?: number;
  /** The current time in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

export interface Authenticator {
  /**
   * Verifies a `Bearer <jwt>` credential: the HTTP `Authorization` header, or
   * the `authorization` field of graphql-ws's `connection_init` payload.
   * Rejects with `AuthenticationError` when it is missing or bad.
   */
  authenticate(authorization: unknown): Promise<Principal>;
  /** Verifies a bare JWT. Rejects with `AuthenticationError` when it is bad. */
  verify(token: string): Promise<Principal>;
}

const algorithm = 'HS256';
/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
const minSecretBytes = 32;
/** Refused before any crypto: real tokens of this service are a few hundred characters. */
const maxCredentialLength = 8_192;
const bearer = /^Bearer +(\S+)$/i;

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const {
    secret,
    jwksUrl,
    jwksAlgorithm = 'RS256',
    issuer,
    audience,
    clockToleranceSec = 0,
    now = Date.now,
  } = options;
  expectNumber('clockToleranceSec', clockToleranceSec, 0);
  if (typeof now !== 'function') throw new TypeError(`Expected \`now\` to be a function, got ${typeof now}`);
  const { key, pinned } = verificationKey(secret, jwksUrl, jwksAlgorithm);
  // jose imports a raw secret for every token it verifies: once is enough (a
  // renewing client verifies one token per renewal, on top of connection_init's).
  let hmacKey: Promise<CryptoKey> | undefined;
  const secretKeyOnce = (raw: Uint8Array): Promise<CryptoKey> =>
    (hmacKey ??= crypto.subtle.importKey(
      'raw',
      new Uint8Array(raw),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    ));

  const verify = async (token: string): Promise<Principal> => {
    let payload: JWTPayload;
    try {
      const verifyOptions = {
        algorithms: [pinned],
        clockTolerance: clockToleranceSec,
        currentDate: new Date(now()),
        ...(issuer === undefined ? {} : { issuer }),
        ...(audience === undefined ? {} : { audience }),
      };
      // Two calls for jose's two overloads (a key, or a key set's lookup).
      ({ payload } =
        key instanceof Uint8Array
          ? await jwtVerify(token, await secretKeyOnce(key), verifyOptions)
          : await jwtVerify(token, key, verifyOptions));
    } catch (error) {
      throw toAuthenticationError(error, pinned);
    }
    return toPrincipal(payload);
  };
  return {
    verify,
    authenticate: async (authorization) => verify(parseBearer(authorization)),
  };
}

function verificationKey(
  secret: unknown,
  jwksUrl: string | undefined,
  jwksAlgorithm: string,
): { key: Uint8Array | JWTVerifyGetKey; pinned: string } {
  if (jwksUrl === undefined) return { key: secretKey(secret), pinned: algorithm };
  let url: URL;
  try {
    url = new URL(jwksUrl);
  } catch {
    throw new TypeError(`Expected \`jwksUrl\` to be a URL, got ${JSON.stringify(jwksUrl)}`);
  }
  if (!/^(RS|PS|ES)(256|384|512)$|^EdDSA$/.test(jwksAlgorithm)) {
    throw new TypeError(
      `Expected \`jwksAlgorithm\` to be an asymmetric JWS algorithm (RS256, PS256, ES256, EdDSA…), got ${JSON.stringify(jwksAlgorithm)}`,
    );
  }
  return { key: createRemoteJWKSet(url), pinned: jwksAlgorithm };
}

/**
 * The JWT of a `Bearer <jwt>` credential (the scheme in any case, as RFC
 * 9110 allows). Throws `AuthenticationError`: `missing` for undefined, null or
 * blank, `malformed` for anything else that is not that form.
 */
export function parseBearer(authorization: unknown): string {
  if (authorization === undefined || authorization === null) {
    throw new AuthenticationError('missing', 'no token: send "Bearer <jwt>"');
  }
  if (typeof authorization !== 'string') {
    throw new AuthenticationError('malformed', `expected "Bearer <jwt>", got a ${typeof authorization}`);
  }
  if (authorization.length > maxCredentialLength) {
    throw new AuthenticationError(
      'malformed',
      `the credential is longer than ${maxCredentialLength} characters`,
    );
  }
  const credential = authorization.trim();
  if (credential === '') throw new AuthenticationError('missing', 'no token: send "Bearer <jwt>"');
  const token = bearer.exec(credential)?.[1];
  if (token === undefined) throw new AuthenticationError('malformed', 'expected "Bearer <jwt>"');
  return token;
}

/**
 * Whether `principal` may read, write and subscribe to `companyId`: one of
 * its `companies`, or any company for an admin. The `"*"` view needs admin,
 * even when `"*"` is listed in `companies`.
 */
export function canAccessCompany(principal: Principal, companyId: string): boolean {
  if (principal.admin) return true;
  return companyId !== WILDCARD && principal.companies.has(companyId);
}

export interface TokenClaims {
  readonly sub: string;
  readonly companies: readonly string[];
  /** @default false */
  readonly admin?: boolean;
  /**
   * Seconds from now to `exp`; negative gives a token that has already
   * expired; `null` gives one without `exp`, which never expires.
   * @default 3600
   */
  readonly expiresInSec?: number | null;
}

/** Signs an HS256 token for this service: for tests, the quickstart and `npm run token`. */
export async function signToken(claims: TokenClaims, secret: string | Uint8Array): Promise<string> {
  const { sub, companies, admin = false, expiresInSec = 3_600 } = claims;
  const key = secretKey(secret);
  if (typeof sub !== 'string' || sub === '') {
    throw new TypeError(`Expected \`sub\` to be a non-empty string, got ${JSON.stringify(sub)}`);
  }
  if (!isCompanyList(companies)) {
    throw new TypeError(
      `Expected \`companies\` to be an array of non-empty strings, got ${JSON.stringify(companies)}`,
    );
  }
  if (typeof admin !== 'boolean')
    throw new TypeError(`Expected \`admin\` to be a boolean, got ${typeof admin}`);
  if (expiresInSec !== null && !Number.isFinite(expiresInSec)) {
    throw new TypeError(
      `Expected \`expiresInSec\` to be a finite number or null, got ${String(expiresInSec)}`,
    );
  }

  const issuedAt = Math.floor(Date.now() / 1_000);
  const jwt = new SignJWT({ companies: [...companies], ...(admin ? { admin: true } : {}) })
    .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(issuedAt);
  if (expiresInSec !== null) jwt.setExpirationTime(issuedAt + Math.round(expiresInSec));
  return jwt.sign(key);
}

function secretKey(secret: unknown): Uint8Array {
  const key =
    typeof secret === 'string'
      ? new TextEncoder().encode(secret)
      : secret instanceof Uint8Array
        ? secret
        : undefined;
  if (key === undefined || key.byteLength < minSecretBytes) {
    throw new TypeError(
      `Expected \`secret\` to be a string or Uint8Array of at least ${minSecretBytes} bytes (HS256), got ${
        key === undefined ? typeof secret : `${key.byteLength} bytes`
      }`,
    );
  }
  return key;
}

function isCompanyList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((company) => typeof company === 'string' && company !== '');
}

/** The companies of every token that lists none (an admin's, say): one set, not an empty table per connection. */
const noCompanies: ReadonlySet<string> = new Set();

function toPrincipal(payload: JWTPayload): Principal {
  const { sub, exp } = payload;
  const companies: unknown = payload['companies'];
  const admin: unknown = payload['admin'];
  if (typeof sub !== 'string' || sub === '') {
    throw new AuthenticationError('invalid_claims', 'the token has no "sub" claim');
  }
  if (!isCompanyList(companies)) {
    throw new AuthenticationError(
      'invalid_claims',
      'the token\'s "companies" claim must be an array of company ids',
    );
  }
  if (admin !== undefined && typeof admin !== 'boolean') {
    throw new AuthenticationError('invalid_claims', 'the token\'s "admin" claim must be a boolean');
  }
  const set = companies.length === 0 ? noCompanies : new Set(companies);
  // One literal per shape, not a spread: a field added to a copy costs each principal a property array.
  // jose has checked that `exp`, when present, is a number in the future.
  return exp === undefined
    ? { sub, companies: set, admin: admin === true }
    : { sub, companies: set, admin: admin === true, expiresAt: exp * 1_000 };
}

function toAuthenticationError(thrown: unknown, pinned: string): Error {
  if (thrown instanceof errors.JWTExpired) {
    const exp = thrown.payload.exp;
    const when = typeof exp === 'number' ? ` at ${new Date(exp * 1_000).toISOString()}` : '';
    return new AuthenticationError('expired', `the token expired${when}`, { cause: thrown });
  }
  if (thrown instanceof errors.JWTClaimValidationFailed) {
    return new AuthenticationError('invalid_claims', `the token's claims are invalid: ${thrown.message}`, {
      cause: thrown,
    });
  }
  if (thrown instanceof errors.JOSEAlgNotAllowed || thrown instanceof errors.JOSENotSupported) {
    return new AuthenticationError('unsupported_algorithm', `the token must be signed with ${pinned}`, {
      cause: thrown,
    });
  }
  if (thrown instanceof errors.JWSSignatureVerificationFailed || thrown instanceof errors.JWKSNoMatchingKey) {
    return new AuthenticationError('invalid_signature', "the token's signature does not verify", {
      cause: thrown,
    });
  }
  if (thrown instanceof errors.JOSEError) {
    return new AuthenticationError('malformed', 'the token is not a valid JWT', { cause: thrown });
  }
  return toError(thrown);
}
