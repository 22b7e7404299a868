import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { serveGraphQLWs } from '../../src/graphql/graphql-ws-server.js';

describe('the wait for connection_init', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A socket on a server that waits `waitMs` for connection_init; it sends one when `init` is set. */
  async function open(waitMs: number, init: boolean) {
    const wss = new WebSocketServer({ port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const connects: boolean[] = [];
    const server = serveGraphQLWs(
      { connectionInitWaitTimeout: waitMs, onConnect: () => connects.push(true) > 0 },
      wss,
      60_000,
      () => 'internal error',
    );
    cleanups.push(() => server.dispose());
    const socket = new WebSocket(
      `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
      'graphql-transport-ws',
    );
    cleanups.push(async () => {
      if (socket.readyState === WebSocket.CLOSED) return;
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.terminate();
      await closed;
    });
    const frames: string[] = [];
    socket.on('message', (data: Buffer) => frames.push(data.toString('utf8')));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    if (init) socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    return { socket, closed, frames, connects };
  }

  it('closes a socket that sends none in time with 4408', async () => {
    const { closed, connects } = await open(50, false);
    expect(await closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    expect(connects).toEqual([]);
  });

  it('keeps a socket that sent it open past the wait, and still runs onConnect', async () => {
    const { socket, frames, connects } = await open(50, true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(socket.readyState).toBe(WebSocket.OPEN);
    expect(frames).toEqual(['{"type":"connection_ack"}']);
    expect(connects).toEqual([true]);
  });
});
