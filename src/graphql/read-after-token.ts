// Read-after tokens a service can sign without crypto of its own: "key K of
// scope S at version V", signed so that no client can forge or alter one.
// Every replica with the same secret derives the same key and verifies the
// tokens of any other.
import { createHash, hkdfSync, timingSafeEqual, type Hash } from 'node:crypto';
import { PokegateError } from '../common/errors.js';
import type { VersionTarget } from './visibility-waiters.js';

/** What a token stands for: a thing (`key`) at a version, and who may read it. */
export interface SignedVersion extends VersionTarget {
  /**
   * Whose data it is (a company, a tenant, a user): `decode` checks the
   * caller may read it before anyone waits on the token. `''` when every
   * caller may.
   */
  readonly scope: string;
}

export interface ReadAfterTokensOptions {
  /**
   * The secret every replica shares, at least 32 bytes (e.g. the JWT
   * secret: the token key is derived from it with a label of its own, so it
   * is never the secret itself). Rotating it refuses the tokens clients hold;
   * their next poke brings new ones.
   */
  readonly secret: string | Uint8Array;
}

/** Signs and verifies read-after tokens; see `createReadAfterTokens`. */
export interface ReadAfterTokens {
  /** The token of `target`: `v1.<payload>.<mac>`, base64url, about 80 characters for a UUID key. */
  sign(target: SignedVersion): string;
  /** What `token` stands for; throws `InvalidReadAfterTokenError` for a malformed or forged one. */
  verify(token: string): SignedVersion;
}

/** A token that is not one of ours: malformed, altered, or signed with another secret. */
export class InvalidReadAfterTokenError extends PokegateError {
  override name = 'InvalidReadAfterTokenError';
}

/**
 * The format's label. A new format (or a new key derivation) takes a new
 * label, so that tokens of the old one are refused by name, not by a MAC
 * that happens not to match.
 */
const format = 'v1';
/** HMAC-SHA256 cut to 128 bits (RFC 2104 §5): forging one still takes 2^128 tries. */
const macBytes = 16;
const minSecretBytes = 32;

/**
 * Signs and verifies read-after tokens with a key derived from `secret`
 * (HKDF-SHA256): what a poke's `token` field carries, and what
 * `createReadAfter`'s `decode` checks. Node.js only (it uses `node:crypto`).
 *
 * @example
 * const tokens = createReadAfterTokens({ secret: process.env.TOKEN_SECRET! });
 * // in the poke: token: tokens.sign({ scope: companyId, key: orderId, version })
 * const readAfter = createReadAfter({
 *   decode: (token, context: { companies: string[] }) => {
 *     const target = tokens.verify(token);
 *     if (!context.companies.includes(target.scope)) throw new Error('not yours');
 *     return target;
 *   },
 *   isVisible: async ({ key, version }) => (versions.get(key) ?? 0) >= version,
 * });
 */
export function createReadAfterTokens(options: ReadAfterTokensOptions): ReadAfterTokens {
  const { secret } = options;
  const bytes =
    typeof secret === 'string' ? Buffer.byteLength(secret) : (secret as Uint8Array | undefined)?.byteLength;
  if (bytes === undefined || bytes < minSecretBytes) {
    throw new TypeError(
      `Expected \`secret\` to be a string or bytes of at least ${minSecretBytes} bytes, got ${bytes === undefined ? typeof secret : `${bytes} bytes`}`,
    );
  }
  const key = Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), `pokegate read-after ${format}`, 32));
  const hmac = createHmacSha256(key);
  const mac = (payload: string): Buffer => hmac(`${format}.${payload}`).subarray(0, macBytes);

  return {
    sign({ scope, key: target, version }) {
      const payload = Buffer.from(JSON.stringify([scope, target, version])).toString('base64url');
      return `${format}.${payload}.${mac(payload).toString('base64url')}`;
    },
    verify(token) {
      const [label, payload, signature, ...rest] = token.split('.');
      if (label !== format || payload === undefined || signature === undefined || rest.length > 0) {
        throw new InvalidReadAfterTokenError(`not a ${format} token`);
      }
      const given = Buffer.from(signature, 'base64url');
      const expected = mac(payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new InvalidReadAfterTokenError('the signature does not verify');
      }
      // Signed by a replica, so well formed unless the secret leaked: checked all the same.
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        parsed = undefined;
      }
      const [scope, target, version] = Array.isArray(parsed) ? (parsed as unknown[]) : [];
      if (typeof scope !== 'string' || typeof target !== 'string' || !Number.isInteger(version)) {
        throw new InvalidReadAfterTokenError('the payload is not a version of a key');
      }
      return { scope, key: target, version: version as number };
    },
  };
}

/**
 * HMAC-SHA256 under one fixed key (RFC 2104), with the keyed inner and outer
 * hash states computed once and copied per message: the same MAC as
 * `createHmac('sha256', key)`, which builds a key object on every call and
 * cost more than the rest of a poke on the event path.
 */
export function createHmacSha256(key: Uint8Array): (message: string) => Buffer {
  const block = Buffer.alloc(64);
  if (key.length > block.length) createHash('sha256').update(key).digest().copy(block);
  else block.set(key);
  const keyed = (pad: number): Hash => createHash('sha256').update(block.map((byte) => byte ^ pad));
  const inner = keyed(0x36);
  const outer = keyed(0x5c);
  return (message) => outer.copy().update(inner.copy().update(message).digest()).digest();
}
