import { createHmac } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  canAccessCompany,
  createAuthenticator,
  parseBearer,
  signToken,
  type Principal,
} from '../../src/service/auth.js';
import { AuthenticationError, type AuthFailure } from '../../src/service/errors.js';

const secret = 'a-test-secret-that-is-at-least-32-bytes-long';
const otherSecret = 'another-secret-that-is-at-least-32-bytes-long';
const key = new TextEncoder().encode(secret);

/** A token with exactly these claims and header, for the cases `signToken` refuses to make. */
function rawToken(payload: Record<string, unknown>, alg = 'HS256'): Promise<string> {
  // The claims may have the wrong types on purpose: jose signs them as given.
  return new SignJWT(payload).setProtectedHeader({ alg }).sign(key);
}

function base64url(value: object | string): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** Signed correctly over a payload that is not JSON: only the payload is wrong. */
function tokenWithBrokenPayload(): string {
  const input = `${base64url({ alg: 'HS256' })}.${base64url('{not json')}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

async function refusal(promise: Promise<unknown>): Promise<AuthenticationError> {
  const error: unknown = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(AuthenticationError);
  return error as AuthenticationError;
}

async function expectRefused(authorization: unknown, reason: AuthFailure, now?: () => number): Promise<void> {
  const auth = createAuthenticator(now === undefined ? { secret } : { secret, now });
  const error = await refusal(auth.authenticate(authorization));
  expect(error.reason).toBe(reason);
  expect(error.message).toMatch(/^Unauthorized: /);
  if (typeof authorization === 'string' && authorization.length > 20) {
    expect(error.message).not.toContain(authorization.slice(7));
  }
}

describe('authentication', () => {
  it('verifies a valid token into a principal with its companies and expiry', async () => {
    const token = await signToken({ sub: 'u1', companies: ['c1', 'c2'] }, secret);
    const principal = await createAuthenticator({ secret }).authenticate(`Bearer ${token}`);
    const { exp } = decodeJwt(token);
    expect(principal).toEqual({
      sub: 'u1',
      companies: new Set(['c1', 'c2']),
      admin: false,
      expiresAt: (exp ?? Number.NaN) * 1_000,
    });
    expect(principal.expiresAt).toBeGreaterThan(Date.now() + 3_500_000);
  });

  it('reads the connection_init payload through the same parser, with the scheme in any case', async () => {
    const token = await signToken({ sub: 'u1', companies: ['c1'], admin: true }, secret);
    const payload: Record<string, unknown> = { authorization: `bearer ${token}` };
    const principal = await createAuthenticator({ secret }).authenticate(payload['authorization']);
    expect(principal.admin).toBe(true);
    expect(parseBearer(`  BEARER ${token}  `)).toBe(token);
  });

  it('leaves expiresAt out for a token without exp', async () => {
    const token = await signToken({ sub: 'u1', companies: [], expiresInSec: null }, secret);
    const principal = await createAuthenticator({ secret }).verify(token);
    expect(principal).not.toHaveProperty('expiresAt');
  });

  it('refuses a token signed with another secret', async () => {
    const token = await signToken({ sub: 'u1', companies: ['c1'] }, otherSecret);
    await expectRefused(`Bearer ${token}`, 'invalid_signature');
  });

  it('refuses an expired token, and honours the clock tolerance', async () => {
    const token = await signToken({ sub: 'u1', companies: ['c1'], expiresInSec: 60 }, secret);
    const later = (): number => Date.now() + 65_000;
    await expectRefused(`Bearer ${token}`, 'expired', later);
    const error = await refusal(createAuthenticator({ secret, now: later }).verify(token));
    expect(error.message).toMatch(/expired at \d{4}-\d\d-\d\dT/);
    const tolerant = createAuthenticator({ secret, now: later, clockToleranceSec: 10 });
    await expect(tolerant.verify(token)).resolves.toMatchObject({ sub: 'u1' });

    const expired = await signToken({ sub: 'u1', companies: ['c1'], expiresInSec: -1 }, secret);
    await expectRefused(`Bearer ${expired}`, 'expired');
  });

  it('refuses a token that is not valid yet', async () => {
    const token = await rawToken({ sub: 'u1', companies: ['c1'], nbf: Math.floor(Date.now() / 1_000) + 600 });
    await expectRefused(`Bearer ${token}`, 'invalid_claims');
  });

  it.each([
    ['undefined', undefined],
    ['null (no header)', null],
    ['an empty string', ''],
    ['blanks', '   '],
  ])('reports a missing credential for %s', async (_, authorization) => {
    await expectRefused(authorization, 'missing');
  });

  it.each([
    ['another scheme', 'Basic dTE6cHc='],
    ['a scheme without a token', 'Bearer'],
    ['two tokens', 'Bearer a.b.c d.e.f'],
    ['a token that is not a JWT', 'Bearer not-a-jwt'],
    ['a signed JWT whose payload is not JSON', `Bearer ${tokenWithBrokenPayload()}`],
    ['a number', 42],
    ['an object', { authorization: 'Bearer x' }],
    ['an oversized credential', `Bearer ${'a'.repeat(9_000)}`],
  ])('reports a malformed credential for %s', async (_, authorization) => {
    await expectRefused(authorization, 'malformed');
  });

  it.each([
    ['no sub', { companies: ['c1'] }],
    ['an empty sub', { sub: '', companies: ['c1'] }],
    ['no companies', { sub: 'u1' }],
    ['companies that is not an array', { sub: 'u1', companies: 'c1' }],
    ['a company that is not a string', { sub: 'u1', companies: ['c1', 7] }],
    ['an admin claim that is not a boolean', { sub: 'u1', companies: [], admin: 'yes' }],
    ['an exp that is not a number', { sub: 'u1', companies: [], exp: 'tomorrow' }],
  ])('refuses a token with %s', async (_, payload) => {
    await expectRefused(`Bearer ${await rawToken(payload)}`, 'invalid_claims');
  });

  it('refuses an unsigned token (alg none)', async () => {
    const payload = { sub: 'u1', companies: ['c1'], admin: true };
    const token = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(payload)}.`;
    await expectRefused(`Bearer ${token}`, 'unsupported_algorithm');
  });

  it('refuses a token signed with HS512, even with the right secret', async () => {
    const token = await rawToken({ sub: 'u1', companies: ['c1'] }, 'HS512');
    await expectRefused(`Bearer ${token}`, 'unsupported_algorithm');
  });

  it('refuses a secret shorter than 32 bytes and other bad options at once', () => {
    expect(() => createAuthenticator({ secret: 'short' })).toThrow(
      new TypeError(
        'Expected `secret` to be a string or Uint8Array of at least 32 bytes (HS256), got 5 bytes',
      ),
    );
    expect(() => createAuthenticator({ secret, clockToleranceSec: -1 })).toThrow(TypeError);
  });

  it('refuses to sign bad claims', async () => {
    await expect(signToken({ sub: '', companies: [] }, secret)).rejects.toThrow(/`sub`/);
    await expect(signToken({ sub: 'u1', companies: [''] }, secret)).rejects.toThrow(/`companies`/);
    await expect(signToken({ sub: 'u1', companies: [], expiresInSec: Number.NaN }, secret)).rejects.toThrow(
      /`expiresInSec`/,
    );
    await expect(signToken({ sub: 'u1', companies: [] }, 'short')).rejects.toThrow(/`secret`/);
  });
});

describe('canAccessCompany', () => {
  const member: Principal = { sub: 'u1', companies: new Set(['c1', '*']), admin: false };
  const admin: Principal = { sub: 'a1', companies: new Set(), admin: true };

  it('allows the companies of the token and nothing else', () => {
    expect(canAccessCompany(member, 'c1')).toBe(true);
    expect(canAccessCompany(member, 'c2')).toBe(false);
  });

  it('allows the "*" view only to an admin, even when "*" is listed in companies', () => {
    expect(canAccessCompany(member, '*')).toBe(false);
    expect(canAccessCompany(admin, '*')).toBe(true);
  });

  it('allows an admin every company', () => {
    expect(canAccessCompany(admin, 'c2')).toBe(true);
  });

  it('carries admin from a signed token into the principal', async () => {
    const auth = createAuthenticator({ secret });
    const adminToken = await signToken({ sub: 'a1', companies: [], admin: true }, secret);
    const memberToken = await signToken({ sub: 'u1', companies: ['*'] }, secret);
    expect(canAccessCompany(await auth.authenticate(`Bearer ${adminToken}`), '*')).toBe(true);
    expect(canAccessCompany(await auth.authenticate(`Bearer ${memberToken}`), '*')).toBe(false);
  });
});
