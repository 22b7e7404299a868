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

/** A close reason within the protocol's 123 bytes. */
function fitReason(reason: string): string {
  return Buffer.byteLength(reason) > 123 ? 'Internal server error' : reason;
}

/**
 * A peer's protocol violation (an oversized frame, a bad opcode) or a broken
 * TCP stream: ws closes the socket itself with the matching code (1009,
 * 1002…). The client's doing, not an internal error; one function for all sockets.
 */
function ignore(): void {
  // ws has closed the socket already.
}

/**
 * graphql-ws's view of one socket. Methods on a prototype rather than
 * closures per connection: an idle connection then holds one small object.
 * A listener of its own per socket, not per message: a subscription's
 * handler stays pending as long as the subscription does.
 */
class SocketAdapter implements GraphQLWsSocket {
  readonly #socket: WebSocket;
  /** Logs an error that breaks the socket and returns its close reason (4500). */
  readonly #onInternalError: (error: unknown) => string;

  constructor(socket: WebSocket, onInternalError: (error: unknown) => string) {
    this.#socket = socket;
    this.#onInternalError = onInternalError;
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
        socket.close(CloseCode.InternalServerError, fitReason(this.#onInternalError(error)));
      });
    });
  }
}

/**
 * graphql-ws's server over a `ws` server, as `graphql-ws/use/ws` does it, but
 * without an `async` message listener: that listener's frame would keep each
 * `subscribe` message's buffer alive for as long as its subscription lasts.
 * `onInternalError` logs an error that breaks a socket and returns its close
 * reason (4500). Returns the disposer: it closes every socket with 1001 and the server.
 */
export function serveGraphQLWs<
  P extends Record<PropertyKey, unknown> | undefined,
  E extends Record<PropertyKey, unknown>,
>(
  options: ServerOptions<P, WsExtra & Partial<E>>,
  wss: WebSocketServer,
  keepAliveMs: number,
  onInternalError: (error: unknown) => string,
): { dispose(): Promise<void> } {
  const server = makeServer(options);
  wss.options.handleProtocols = handleProtocols;
  wss.once('error', (error) => {
    const reason = fitReason(onInternalError(error));
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, reason);
  });
  wss.on('connection', (socket: WebSocket) => {
    socket.on('error', ignore);
    socket.on('pong', answered);
    const closed = server.opened(new SocketAdapter(socket, onInternalError), { socket } as WsExtra &
      Partial<E>);
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
