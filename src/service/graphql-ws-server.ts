import {
  CloseCode,
  handleProtocols,
  makeServer,
  type ServerOptions,
  type WebSocket as GraphQLWsSocket,
} from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';

/**
 * What graphql-ws's `extra` holds for a connection: the socket. Not its
 * upgrade request, which would stay alive (headers, streams) as long as the
 * connection does.
 */
export interface WsExtra {
  readonly socket: WebSocket;
}

/** Longest close reason the protocol allows (123 bytes), for a reason made of an error message. */
function closeReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return Buffer.byteLength(message) > 123 ? 'Internal server error' : message;
}

/** A socket's error closes it; `this` is the socket, so one function serves them all. */
function fail(this: WebSocket, error: unknown): void {
  this.close(CloseCode.InternalServerError, closeReason(error));
}

/**
 * graphql-ws's view of one socket. Methods on a prototype rather than
 * closures per connection: an idle connection then holds one small object.
 * A listener of its own per socket, not per message: a subscription's
 * handler stays pending as long as the subscription does.
 */
class SocketAdapter implements GraphQLWsSocket {
  readonly #socket: WebSocket;

  constructor(socket: WebSocket) {
    this.#socket = socket;
  }

  get protocol(): string {
    return this.#socket.protocol;
  }

  send(data: string): Promise<void> {
    const socket = this.#socket;
    return new Promise<void>((resolve, reject) => {
      if (socket.readyState !== socket.OPEN) {
        resolve();
        return;
      }
      // Node calls back with null, not undefined, after some writes: test for an Error.
      socket.send(data, (error) => {
        if (error instanceof Error) reject(error);
        else resolve();
      });
    });
  }

  close(code: number, reason: string): void {
    this.#socket.close(code, reason);
  }

  onMessage(handle: (data: string) => Promise<void>): void {
    const socket = this.#socket;
    socket.on('message', (data: Buffer) => {
      handle(data.toString('utf8')).catch((error: unknown) => {
        fail.call(socket, error);
      });
    });
  }
}

/**
 * graphql-ws's server over a `ws` server, as `graphql-ws/use/ws` does it, but
 * without an `async` message listener: that listener's frame would keep each
 * `subscribe` message's buffer alive for as long as its subscription lasts.
 * Returns the disposer: it closes every socket with 1001 and the server.
 */
export function serveGraphQLWs<
  P extends Record<PropertyKey, unknown> | undefined,
  E extends Record<PropertyKey, unknown>,
>(
  options: ServerOptions<P, WsExtra & Partial<E>>,
  wss: WebSocketServer,
  keepAliveMs: number,
): { dispose(): Promise<void> } {
  const server = makeServer(options);
  wss.options.handleProtocols = handleProtocols;
  wss.once('error', (error) => {
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, closeReason(error));
  });
  wss.on('connection', (socket: WebSocket) => {
    socket.on('error', fail);
    socket.on('pong', answered);
    const closed = server.opened(new SocketAdapter(socket), { socket } as WsExtra & Partial<E>);
    socket.on('close', (code, reason) => {
      void closed(code, reason.toString('utf8'));
    });
  });
  // One timer for every socket, not one each: a peer that has not answered
  // the previous ping by the next tick is gone.
  const unanswered = new WeakSet<WebSocket>();
  function answered(this: WebSocket): void {
    unanswered.delete(this);
  }
  const heartbeat = setInterval(() => {
    for (const client of wss.clients) {
      if (client.readyState !== client.OPEN) continue;
      if (unanswered.has(client)) {
        client.terminate();
        continue;
      }
      unanswered.add(client);
      client.ping();
    }
  }, keepAliveMs);
  return {
    async dispose() {
      clearInterval(heartbeat);
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => {
        wss.close((error) => {
          if (error === undefined) resolve();
          else reject(error);
        });
      });
    },
  };
}
