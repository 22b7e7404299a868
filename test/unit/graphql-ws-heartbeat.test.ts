import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { serveGraphQLWs } from '../../src/graphql/graphql-ws-server.js';
import { waitFor } from '../utils/wait-for.js';

describe('the WebSocket heartbeat', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A server pinging every `keepAliveMs`, and `count` sockets on it that answer pings or not. */
  async function open(keepAliveMs: number, count: number, autoPong: boolean) {
    const wss = new WebSocketServer({ port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const server = serveGraphQLWs({}, wss, keepAliveMs, () => 'internal error');
    cleanups.push(() => server.dispose());
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const sockets = await Promise.all(
      Array.from({ length: count }, async () => {
        const socket = new WebSocket(url, 'graphql-transport-ws', { autoPong });
        cleanups.push(async () => {
          if (socket.readyState === WebSocket.CLOSED) return;
          const closed = new Promise((resolve) => socket.once('close', resolve));
          socket.terminate();
          await closed;
        });
        await new Promise((resolve) => socket.once('open', resolve));
        socket.send(JSON.stringify({ type: 'connection_init' }));
        return socket;
      }),
    );
    const pings = sockets.map(() => 0);
    sockets.forEach((socket, i) => socket.on('ping', () => (pings[i] = (pings[i] ?? 0) + 1)));
    return { sockets, pings };
  }

  it('pings every socket about once per interval, a slice at a time, and keeps those that answer', async () => {
    // 1 s in slices of about 250 ms: each tick pings a quarter of the sockets.
    const { sockets, pings } = await open(1_000, 40, true);
    await waitFor('a first ping', () => pings.some((count) => count >= 1));
    // The first tick pinged a slice, not every socket at once.
    expect(pings.filter((count) => count >= 1).length).toBeLessThan(sockets.length / 2);
    await waitFor('every socket to be pinged twice', () => pings.every((count) => count >= 2), {
      timeoutMs: 4_000,
    });
    expect(Math.max(...pings)).toBeLessThanOrEqual(3);
    expect(sockets.every((socket) => socket.readyState === WebSocket.OPEN)).toBe(true);
  });

  it('terminates a socket that did not answer its previous ping', async () => {
    const { sockets } = await open(100, 3, false);
    const closed = sockets.map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    await Promise.all(closed);
    expect(sockets.every((socket) => socket.readyState === WebSocket.CLOSED)).toBe(true);
  });
});
