import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { serveGraphQLWs } from '../../src/graphql/graphql-ws-server.js';
import { ManualClock } from '../utils/manual-clock.js';
import { waitFor } from '../utils/wait-for.js';

describe('the wait for connection_init', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A socket on a server that waits `waitMs` for connection_init on a manual clock; it sends one when `init` is set. */
  async function open(waitMs: number, init: boolean) {
    const clock = new ManualClock();
    const wss = new WebSocketServer({ port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const connects: boolean[] = [];
    const server = serveGraphQLWs(
      { connectionInitWaitTimeout: waitMs, onConnect: () => connects.push(true) > 0 },
      wss,
      60_000,
      () => 'internal error',
      clock,
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
    // The server's side of the socket is open: its wait has started.
    await waitFor('the server to take the socket', () => wss.clients.size === 1);
    return { clock, socket, closed, frames, connects };
  }

  /** A ping answered: whatever the server did before it has reached the socket. */
  function roundTrip(socket: WebSocket): Promise<void> {
    return new Promise((resolve) => {
      socket.once('pong', () => resolve());
      socket.ping();
    });
  }

  it('closes a socket that sends none in time with 4408', async () => {
    const { clock, socket, closed, connects } = await open(50, false);
    await clock.advance(49);
    await roundTrip(socket);
    expect(socket.readyState).toBe(WebSocket.OPEN);
    await clock.advance(1);
    expect(await closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    expect(connects).toEqual([]);
  });

  it('keeps a socket that sent it open past the wait, and still runs onConnect', async () => {
    const { clock, socket, frames, connects } = await open(50, true);
    await waitFor('the connection_ack', () => frames.length === 1);
    expect(clock.pending).toBe(0);
    await clock.advance(1_000);
    await roundTrip(socket);
    expect(socket.readyState).toBe(WebSocket.OPEN);
    expect(frames).toEqual(['{"type":"connection_ack"}']);
    expect(connects).toEqual([true]);
  });
});
