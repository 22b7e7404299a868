import WebSocket from 'ws';
import { waitFor } from './wait-for.js';

/** A graphql-transport-ws message as the server sent it. */
export interface WsMessage {
  readonly type: string;
  readonly id?: string;
  readonly payload?: unknown;
}

/**
 * A graphql-transport-ws connection by hand: every frame the server sends is
 * kept in order, so a test can assert exactly what one operation received.
 */
export interface RawSocket {
  readonly messages: readonly WsMessage[];
  /** Resolves with how the server (or ws) closed the socket. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Sends a `subscribe` message: a query, mutation or subscription under `id`. */
  send(id: string, query: string, variables?: Record<string, unknown>): void;
  /** Sends a raw frame. */
  sendRaw(data: string): void;
  /** The messages of operation `id`. */
  of(id: string): WsMessage[];
  /** Resolves with the first message of `id` of `type`, waiting for it. */
  next(id: string, type?: string): Promise<WsMessage>;
  close(): Promise<void>;
}

/** Opens a socket and, with `authorization`, sends `connection_init` and waits for its ack. */
export async function openRawSocket(wsUrl: string, authorization?: string): Promise<RawSocket> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const messages: WsMessage[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as WsMessage));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const raw: RawSocket = {
    messages,
    closed,
    send(id, query, variables = {}) {
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    },
    sendRaw(data) {
      socket.send(data);
    },
    of: (id) => messages.filter((message) => message.id === id),
    next: (id, type = 'next') =>
      waitFor(`a ${type} message for ${id}`, () =>
        messages.find((message) => message.id === id && message.type === type),
      ),
    async close() {
      if (socket.readyState !== socket.CLOSED) {
        socket.close();
        await closed;
      }
    },
  };
  if (authorization !== undefined) {
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
    await waitFor('connection_ack', () => messages.some((message) => message.type === 'connection_ack'));
  }
  return raw;
}
