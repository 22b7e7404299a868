import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';

/** What graphql-ws's `extra` holds for a connection: the socket and its upgrade request. */
export interface WsExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

/** A close reason within the protocol's 123 bytes. */
function fitReason(reason: string): string {
  return Buffer.byteLength(reason) > 123 ? 'Internal server error' : reason;
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
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    // One per socket, not one per message: a subscription's handler stays pending as long as it does.
    const fail = (error: unknown): void => {
      socket.close(CloseCode.InternalServerError, fitReason(onInternalError(error)));
    };
    // A peer's protocol violation (an oversized frame, a bad opcode) or a broken TCP stream: ws
    // closes the socket itself with the matching code (1009, 1002…). The client's doing, not an internal error.
    socket.once('error', () => undefined);
    // A peer that does not answer a ping within one more interval is gone.
    let pongWait: NodeJS.Timeout | undefined;
    const pinger = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
      socket.once('pong', () => {
        clearTimeout(pongWait);
        pongWait = undefined;
      });
      socket.ping();
    }, keepAliveMs);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) {
              resolve();
              return;
            }
            // Node calls back with null, not undefined, after some writes: test for an Error.
            socket.send(data, (error) => {
              if (error instanceof Error) reject(error);
              else resolve();
            });
          }),
        close: (code, reason) => {
          socket.close(code, reason);
        },
        onMessage: (handle) => {
          socket.on('message', (data: Buffer) => {
            handle(data.toString('utf8')).catch(fail);
          });
        },
      },
      { socket, request } as WsExtra & Partial<E>,
    );
    socket.once('close', (code, reason) => {
      clearTimeout(pongWait);
      clearInterval(pinger);
      void closed(code, reason.toString('utf8'));
    });
  });
  return {
    async dispose() {
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
