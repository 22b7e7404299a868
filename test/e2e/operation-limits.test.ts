import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../utils/app.js';
import { query, token, wsClient } from '../utils/graphql-client.js';

/** `count` aliased `orders` fields: the abusive query of the issue at 1,800 (61 KB). */
function aliases(count: number, operation = 'query'): string {
  const fields = Array.from({ length: count }, (_, i) => `a${i}:orders(companyId:"c1"){id}`);
  return `${operation}{${fields.join(' ')}}`;
}

function limitOf(body: { errors?: { extensions?: { code?: string; limit?: string } }[] }) {
  return body.errors?.map((error) => [error.extensions?.code, error.extensions?.limit]);
}

/** POSTs `body` in chunks without a Content-Length, as a streaming client does. */
function chunkedPost(url: string, jwt: string, chunks: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/graphql`,
      { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` } },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('operation limits and the body limit', () => {
  let service: TestApp;
  let jwt: string;

  beforeAll(async () => {
    service = await startTestApp();
    jwt = await token({ companies: ['c1'] });
  }, 60_000);

  afterAll(async () => {
    await service.stop();
  }, 60_000);

  it('refuses the 1,800-alias query of 61 KB by its tokens, without running it', async () => {
    const document = aliases(1_800);
    const bodyBytes = JSON.stringify({ query: document, variables: {} }).length;
    expect(bodyBytes).toBeGreaterThan(60_000);
    expect(bodyBytes).toBeLessThan(65_536);
    const { body } = await query(service.httpUrl, jwt, document);
    expect(body.data ?? null).toBeNull();
    expect(limitOf(body)).toEqual([['OPERATION_LIMIT', 'tokens']]);
  });

  it('refuses too many aliases, too deep a selection and too high a cost, each with its code', async () => {
    expect(limitOf((await query(service.httpUrl, jwt, aliases(21))).body)).toEqual([
      ['OPERATION_LIMIT', 'aliases'],
    ]);
    const deep = `{ orders(companyId: "c1") ${'{ id '.repeat(9)}${'}'.repeat(9)} }`;
    expect(limitOf((await query(service.httpUrl, jwt, deep)).body)).toContainEqual([
      'OPERATION_LIMIT',
      'depth',
    ]);
    const costly = `{ ${'orders(companyId: "c1") { id total status version updatedAt companyId } '.repeat(100)} }`;
    expect(limitOf((await query(service.httpUrl, jwt, costly)).body)).toEqual([['OPERATION_LIMIT', 'cost']]);
  });

  it('answers a query under every limit', async () => {
    const { body } = await query(service.httpUrl, jwt, aliases(20));
    expect(body.errors).toBeUndefined();
    expect(body.data?.['a19']).toEqual([]);
  });

  it('does not suggest field names', async () => {
    const { body } = await query(service.httpUrl, jwt, '{ ordrs(companyId: "c1") { id } }');
    expect(body.errors?.[0]?.message).toBe('Cannot query field "ordrs" on type "Query".');
  });

  it('refuses an over-limit subscription over SSE with the same code', async () => {
    const url = new URL(`${service.httpUrl}/graphql`);
    url.searchParams.set('query', aliases(21, 'subscription').replaceAll('orders', 'ordersChanged'));
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${jwt}` },
    });
    const text = await response.text();
    expect(text).toContain('"code":"OPERATION_LIMIT"');
    expect(text).toContain('"limit":"aliases"');
  });

  it('refuses an over-limit operation over WebSocket with an error result, and keeps the socket', async () => {
    const closes: number[] = [];
    const client = wsClient(service.wsUrl, jwt, (code) => closes.push(code));
    try {
      for (const [document, limit] of [
        [aliases(1_200), 'tokens'],
        [aliases(21), 'aliases'],
      ] as const) {
        const errors = await new Promise<unknown>((resolve) => {
          client.subscribe(
            { query: document },
            { next: () => undefined, error: resolve, complete: () => {} },
          );
        });
        expect(errors).toEqual([
          expect.objectContaining({
            extensions: expect.objectContaining({ code: 'OPERATION_LIMIT', limit }) as unknown,
          }),
        ]);
      }
      const ok = await new Promise<unknown>((resolve, reject) => {
        client.subscribe({ query: aliases(2) }, { next: resolve, error: reject, complete: () => {} });
      });
      expect(ok).toEqual({ data: { a0: [], a1: [] } });
      expect(closes).toEqual([]);
    } finally {
      await client.dispose();
    }
  });

  it('answers 413 to a chunked body over 64 KiB that has no Content-Length', async () => {
    const padding = ' '.repeat(8_192);
    const chunks = [
      '{"query":"{ orders(companyId: \\"c1\\") { id } }"',
      ...Array.from({ length: 9 }, () => padding),
      '}',
    ];
    expect(await chunkedPost(service.httpUrl, jwt, chunks)).toBe(413);
    expect(await chunkedPost(service.httpUrl, jwt, chunks.slice(0, 2).concat('}'))).toBe(200);
  });
});
