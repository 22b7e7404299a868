import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type Authenticator } from '../../src/service/auth.js';
import type { AuthFailure } from '../../src/service/errors.js';

const issuer = 'https://id.example.test/';
const audience = 'pokegate';

/** Resolves with the reason an AuthenticationError gives, or 'accepted'. */
async function outcome(authenticator: Authenticator, token: string): Promise<AuthFailure | 'accepted'> {
  try {
    await authenticator.verify(token);
    return 'accepted';
  } catch (error) {
    return (error as { reason: AuthFailure }).reason;
  }
}

describe('tokens of an identity provider (JWKS)', () => {
  let server: Server;
  let jwksUrl: string;
  let privateKey: CryptoKey;
  let otherKey: CryptoKey;

  const sign = (claims: Record<string, unknown>, key = privateKey, alg = 'RS256') =>
    new SignJWT({ companies: ['c1'], ...claims })
      .setProtectedHeader({ alg, kid: 'k1' })
      .setSubject('user-1')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(key);

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('accepts a token of the key set with the configured issuer and audience', async () => {
    const authenticator = createAuthenticator({ jwksUrl, issuer, audience });
    const principal = await authenticator.verify(await sign({ iss: issuer, aud: audience }));
    expect(principal).toMatchObject({ sub: 'user-1', companies: new Set(['c1']), admin: false });
  });

  it('refuses another issuer or audience, another key, and another algorithm', async () => {
    const authenticator = createAuthenticator({ jwksUrl, issuer, audience });
    expect(await outcome(authenticator, await sign({ iss: 'https://evil.test/', aud: audience }))).toBe(
      'invalid_claims',
    );
    expect(await outcome(authenticator, await sign({ iss: issuer, aud: 'other' }))).toBe('invalid_claims');
    expect(await outcome(authenticator, await sign({ iss: issuer, aud: audience }, otherKey))).toBe(
      'invalid_signature',
    );
    const hs256 = await new SignJWT({ companies: ['c1'], iss: issuer, aud: audience })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setSubject('user-1')
      .sign(new TextEncoder().encode('a-test-secret-that-is-at-least-32-bytes-long'));
    expect(await outcome(authenticator, hs256)).toBe('unsupported_algorithm');
  });

  it('checks issuer and audience with a secret too, when configured', async () => {
    const secret = 'a-test-secret-that-is-at-least-32-bytes-long';
    const authenticator = createAuthenticator({ secret, issuer });
    const token = await new SignJWT({ companies: ['c1'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('user-1')
      .sign(new TextEncoder().encode(secret));
    expect(await outcome(authenticator, token)).toBe('invalid_claims');
  });

  it('names a bad key set option', () => {
    expect(() => createAuthenticator({ jwksUrl: 'not a url' })).toThrow(/`jwksUrl`/);
    expect(() => createAuthenticator({ jwksUrl, jwksAlgorithm: 'HS256' })).toThrow(/`jwksAlgorithm`/);
    expect(() => createAuthenticator({})).toThrow(/`secret`/);
  });
});
