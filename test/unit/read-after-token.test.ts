import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createReadAfterTokens, InvalidReadAfterTokenError } from 'pokegate/graphql';
import { createHmacSha256 } from '../../src/graphql/read-after-token.js';
import { createOrderTokens, InvalidOrderTokenError } from '../../src/service/orders/read-after-token.js';

const secret = 'a-secret-of-at-least-thirty-two-bytes!!';
const change = { companyId: 'c1', orderId: '0b5e6e1e-58a4-4a3c-9a0e-52f2b4f1c0de', version: 42 };

describe('order read-after tokens', () => {
  it('signs with HMAC-SHA256 exactly, for short and long keys', () => {
    for (const size of [16, 32, 64, 100]) {
      const key = randomBytes(size);
      const hmac = createHmacSha256(key);
      for (const message of ['', 'v1.payload', 'é'.repeat(100)]) {
        expect(hmac(message)).toEqual(createHmac('sha256', key).update(message).digest());
      }
    }
  });

  it('stands for (company, order, version), for any replica with the same secret', () => {
    const token = createOrderTokens(secret).sign(change);
    expect(createOrderTokens(secret).verify(token)).toEqual(change);
  });

  it('is compact: under 120 characters for a UUID order id', () => {
    expect(createOrderTokens(secret).sign(change).length).toBeLessThan(120);
  });

  it('refuses a token whose payload was altered, even re-encoded', () => {
    const tokens = createOrderTokens(secret);
    const [label, , mac] = tokens.sign(change).split('.');
    const altered = Buffer.from(JSON.stringify(['c2', change.orderId, 42])).toString('base64url');
    expect(() => tokens.verify(`${label}.${altered}.${mac}`)).toThrow(InvalidOrderTokenError);
  });

  it('refuses a token signed with another secret', () => {
    const token = createOrderTokens(`${secret}-rotated`).sign(change);
    expect(() => createOrderTokens(secret).verify(token)).toThrow(/signature does not verify/);
  });

  it('refuses what is not a token', () => {
    const tokens = createOrderTokens(secret);
    for (const bad of ['', 'v1', 'v1.abc', 'v2.abc.def', 'v1.a.b.c', 'v1.e30.AAAA']) {
      expect(() => tokens.verify(bad)).toThrow(InvalidOrderTokenError);
    }
  });
});

describe('createReadAfterTokens (pokegate/graphql)', () => {
  it('stands for (scope, key, version) and verifies on any replica with the same secret', () => {
    const target = { scope: 'tenant-7', key: 'invoice-1', version: 3 };
    const token = createReadAfterTokens({ secret }).sign(target);
    expect(createReadAfterTokens({ secret: Buffer.from(secret) }).verify(token)).toEqual(target);
    expect(() => createReadAfterTokens({ secret: `${secret}!` }).verify(token)).toThrow(
      InvalidReadAfterTokenError,
    );
  });

  it('refuses a secret shorter than 32 bytes, naming the option', () => {
    expect(() => createReadAfterTokens({ secret: 'short' })).toThrow(/`secret`.*32 bytes, got 5 bytes/);
    expect(() => createReadAfterTokens({ secret: 42 as never })).toThrow(TypeError);
  });
});
