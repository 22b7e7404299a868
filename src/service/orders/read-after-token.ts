// The orders service's read-after token: "order O of company C at version V",
// signed so that no client can forge or alter one. Every replica with the same
// AUTH_SECRET derives the same key and verifies the tokens of any other.
import { createHash, hkdfSync, timingSafeEqual, type Hash } from 'node:crypto';

/** What a token stands for. */
export interface OrderVersion {
  readonly companyId: string;
  readonly orderId: string;
  readonly version: number;
}

export interface OrderTokens {
  /** The token of `change`: `v1.<payload>.<mac>`, base64url, about 80 characters. */
  sign(change: OrderVersion): string;
  /** What `token` stands for; throws `InvalidOrderTokenError` for a malformed or forged one. */
  verify(token: string): OrderVersion;
}

export class InvalidOrderTokenError extends Error {
  override name = 'InvalidOrderTokenError';
}

/**
 * The format's label. A new format (or a new key derivation) takes a new
 * label, so that tokens of the old one are refused by name, not by a MAC
 * that happens not to match.
 */
const format = 'v1';
/** HMAC-SHA256 cut to 128 bits (RFC 2104 §5): forging one still takes 2^128 tries. */
const macBytes = 16;

/**
 * Signs and verifies tokens with a key derived from `secret` (HKDF-SHA256,
 * with its own label): the token key is never the JWT key itself.
 */
export function createOrderTokens(secret: string | Uint8Array): OrderTokens {
  const key = Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), `pokegate read-after ${format}`, 32));
  const hmac = createHmacSha256(key);
  const mac = (payload: string): Buffer => hmac(`${format}.${payload}`).subarray(0, macBytes);

  return {
    sign({ companyId, orderId, version }) {
      const payload = Buffer.from(JSON.stringify([companyId, orderId, version])).toString('base64url');
      return `${format}.${payload}.${mac(payload).toString('base64url')}`;
    },
    verify(token) {
      const [label, payload, signature, ...rest] = token.split('.');
      if (label !== format || payload === undefined || signature === undefined || rest.length > 0) {
        throw new InvalidOrderTokenError(`not a ${format} token`);
      }
      const given = Buffer.from(signature, 'base64url');
      const expected = mac(payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new InvalidOrderTokenError('the signature does not verify');
      }
      // Signed by a replica, so well formed unless the secret leaked: checked all the same.
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        parsed = undefined;
      }
      const [companyId, orderId, version] = Array.isArray(parsed) ? (parsed as unknown[]) : [];
      if (typeof companyId !== 'string' || typeof orderId !== 'string' || !Number.isInteger(version)) {
        throw new InvalidOrderTokenError('the payload is not an order version');
      }
      return { companyId, orderId, version: version as number };
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
