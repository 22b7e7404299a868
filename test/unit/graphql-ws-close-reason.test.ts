import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { serveGraphQLWs } from '../../src/graphql/graphql-ws-server.js';
import { createInternalErrors } from '../../src/graphql/internal-errors.js';
import { captureLogs } from '../utils/log-capture.js';

describe('an internal error that breaks a socket', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function closeAfterFailingSubscribe(masked: boolean) {
    const { logger, lines } = captureLogs();
    const internalErrors = createInternalErrors({ logger, masked, newId: () => 'error-1' });
    const wss = new WebSocketServer({ port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const server = serveGraphQLWs(
      {
        onSubscribe: () => {
          throw new Error('password authentication failed for user "reader"');
        },
      },
      wss,
      60_000,
      (error) => {
        const { errorId, message } = internalErrors.report(error, 'websocket');
        return `${message} (${errorId})`;
      },
    );
    cleanups.push(() => server.dispose());
    const socket = new WebSocket(
      `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
      'graphql-transport-ws',
    );
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    socket.once('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init' }));
      socket.once('message', () =>
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ a }' } })),
      );
    });
    return { close: await closed, lines };
  }

  it('closes with 4500 and the error id only when masked, and logs the error once', async () => {
    const { close, lines } = await closeAfterFailingSubscribe(true);
    expect(close).toEqual({ code: 4500, reason: 'Unexpected error. (error-1)' });
    expect(lines.filter((line) => line['errorId'] === 'error-1')).toEqual([
      expect.objectContaining({ level: 50, where: 'websocket', msg: 'internal error' }),
    ]);
  });

  it('closes with the message and the id when not masked', async () => {
    const { close } = await closeAfterFailingSubscribe(false);
    expect(close).toEqual({
      code: 4500,
      reason: 'password authentication failed for user "reader" (error-1)',
    });
  });
});
