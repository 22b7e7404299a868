import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../utils/app.js';
import { query, secret, token, wsClient } from '../utils/graphql-client.js';
import { killAll, startService } from '../utils/service.js';

const introspection = '{ __schema { queryType { name } } }';
/** PostgreSQL refuses a NUL byte in text: an internal error, not one of the client's. */
const failing = '{ order(id: "\\u0000") { id } }';

describe('production mode (NODE_ENV=production)', () => {
  let service: TestApp;
  let jwt: string;

  beforeAll(async () => {
    service = await startTestApp({ NODE_ENV: 'production', AUTH_SECRET: secret });
    jwt = await token({ companies: ['c1'] });
  }, 60_000);

  afterAll(async () => {
    await service.stop();
    killAll();
  }, 60_000);

  it('refuses to start without AUTH_SECRET, saying why', async () => {
    await expect(startService({ NODE_ENV: 'production', AUTH_SECRET: '' })).rejects.toThrow(
      /exited with 2[\s\S]*AUTH_SECRET \(or AUTH_JWKS_URL\) is required with NODE_ENV=production/,
    );
  });

  it('answers no introspection, but __typename', async () => {
    const { body } = await query(service.httpUrl, jwt, introspection);
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.message).toMatch(/introspection/i);
    expect((await query(service.httpUrl, jwt, '{ __typename }')).body.data).toEqual({ __typename: 'Query' });
  });

  it('serves no GraphiQL to a browser', async () => {
    const response = await fetch(`${service.httpUrl}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(401);
    expect(await response.text()).not.toMatch(/graphiql/i);
  });

  it('masks an internal error, and logs it once under the id the client gets', async () => {
    const { body } = await query(service.httpUrl, jwt, failing);
    const error = body.errors?.[0] as { message: string; extensions?: Record<string, unknown> };
    expect(error.message).toBe('Unexpected error.');
    expect(error.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
    const errorId = error.extensions?.['errorId'];
    expect(errorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(body)).not.toMatch(/byte|0x00|invalid/i);
    const lines = service.logs.filter((line) => JSON.stringify(line).includes(String(errorId)));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.['level']).toBe(50);
    expect(service.logs.filter((line) => line['level'] === 50)).toHaveLength(1);
  });

  it('masks an internal error over WebSocket the same way', async () => {
    const client = wsClient(service.wsUrl, jwt);
    try {
      const result = await new Promise<{
        errors?: { message: string; extensions?: Record<string, unknown> }[];
      }>((resolve, reject) => {
        client.subscribe({ query: failing }, { next: resolve as never, error: reject, complete: () => {} });
      });
      expect(result.errors?.[0]?.message).toBe('Unexpected error.');
      expect(result.errors?.[0]?.extensions?.['errorId']).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await client.dispose();
    }
  });

  it('answers introspection when GRAPHQL_INTROSPECTION=true', async () => {
    const open = await startTestApp({
      NODE_ENV: 'production',
      AUTH_SECRET: secret,
      GRAPHQL_INTROSPECTION: 'true',
    });
    try {
      const { body } = await query(open.httpUrl, jwt, introspection);
      expect(body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    } finally {
      await open.stop();
    }
  });

  it('serves /metrics on METRICS_PORT only, not on the public port', async () => {
    const split = await startTestApp({ NODE_ENV: 'production', AUTH_SECRET: secret, METRICS_PORT: '0' });
    try {
      expect((await fetch(`${split.httpUrl}/metrics`)).status).toBe(404);
      const internal = await fetch(`http://127.0.0.1:${split.app.metricsPort}/metrics`);
      expect(internal.status).toBe(200);
      expect(await internal.text()).toContain('pokegate_receivers');
    } finally {
      await split.stop();
    }
  });
});
