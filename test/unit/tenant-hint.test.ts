import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createLiveClient,
  withTenantHint,
  type LiveClient,
  type WebSocketConstructor,
} from 'pokegate/client';
import { ManualClock } from '../utils/manual-clock.js';
import { waitFor } from '../utils/wait-for.js';

describe('withTenantHint', () => {
  it('adds the tenant parameter and leaves the rest of the URL as it was', () => {
    expect(withTenantHint('wss://example.com/graphql', 'c1')).toBe('wss://example.com/graphql?tenant=c1');
    expect(withTenantHint('wss://example.com/graphql?a=1&b', 'c1')).toBe(
      'wss://example.com/graphql?a=1&b&tenant=c1',
    );
    expect(withTenantHint('/graphql?query=%7B%7D#top', 'c1')).toBe('/graphql?query=%7B%7D&tenant=c1#top');
    expect(withTenantHint('/graphql?', 'c1')).toBe('/graphql?tenant=c1');
  });

  it('replaces a tenant parameter in its place, and encodes the tenant', () => {
    expect(withTenantHint('/graphql?a=1&tenant=old&b=2&tenant=older', 'c 2/é')).toBe(
      '/graphql?a=1&tenant=c%202%2F%C3%A9&b=2',
    );
    expect(withTenantHint('/graphql?tenant&a=1', 'c1')).toBe('/graphql?tenant=c1&a=1');
  });

  it('returns the URL as it is without a tenant, and refuses an empty one', () => {
    expect(withTenantHint('/graphql?tenant=x', undefined)).toBe('/graphql?tenant=x');
    expect(() => withTenantHint('/graphql', '')).toThrow(/`tenant`/);
  });
});

describe('the live client’s tenant option', () => {
  const clients: LiveClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.dispose();
  });

  /** A WebSocket that records the URL of each attempt, then fails like an unreachable server. */
  function recordingWebSocket(urls: string[]): WebSocketConstructor {
    return class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        urls.push(url);
        super('ws://127.0.0.1:1/graphql', protocols);
      }
    };
  }

  it('validates it eagerly', () => {
    expect(() => createLiveClient({ url: 'ws://127.0.0.1:1/graphql', tenant: '' })).toThrow(/`tenant`/);
    expect(() => createLiveClient({ url: 'ws://127.0.0.1:1/graphql', tenant: 7 as never })).toThrow(
      /`tenant`/,
    );
  });

  it('adds the hint to every attempt’s URL, asking a function anew each time', async () => {
    const urls: string[] = [];
    const clock = new ManualClock();
    let tenant: string | undefined = 'c1';
    const client = createLiveClient({
      url: 'ws://127.0.0.1:1/graphql?v=2',
      tenant: () => tenant,
      webSocketImpl: recordingWebSocket(urls),
      clock,
    });
    clients.push(client);
    await waitFor('the first wait', () => clock.pending === 1);
    tenant = undefined;
    await clock.advance(60_000);
    await waitFor('a second attempt', () => urls.length >= 2);
    expect(urls.slice(0, 2)).toEqual([
      'ws://127.0.0.1:1/graphql?v=2&tenant=c1',
      'ws://127.0.0.1:1/graphql?v=2',
    ]);
  });
});
