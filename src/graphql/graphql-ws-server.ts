import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  CloseCode,
  handleProtocols,
  makeServer,
  type ServerOptions,
  type WebSocket as GraphQLWsSocket,
} from 'graphql-ws';
import { systemClock, type Clock } from '../common/clock.js';
import type { WebSocket, WebSocketServer } from 'ws';

/**
 * What graphql-ws's `extra` holds for a connection: the socket and the stream
 * it writes to. Not its upgrade request, which would stay alive (headers,
 * parser state) as long as the connection does.
 */
export interface WsExtra {
  readonly socket: WebSocket;
  /** The TCP (or TLS) stream under `socket`, to batch its writes. */
  readonly stream: Duplex;
}

/** About how often the heartbeat pings its next slice of sockets. */
const heartbeatSliceMs = 250;

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
 * graphql-ws's view of one socket, and what the socket's listeners need of
 * it. Methods on a prototype and listeners shared by every socket rather than
 * closures per connection: an idle connection then holds one small object.
 */
class SocketAdapter implements GraphQLWsSocket {
  readonly #socket: WebSocket;
  /** Logs an error that breaks the socket and returns its close reason (4500). */
  readonly #onInternalError: (error: unknown) => string;
  /** graphql-ws's handler of this socket's messages. */
  #handle: ((data: string) => Promise<void>) | undefined;
  /** Closes the socket for an error of the handler; made at the first message, then shared by all. */
  #fail: ((error: unknown) => void) | undefined;
  /** graphql-ws's end of the connection, run once the socket has closed. */
  closed: ((code: number, reason: string) => Promise<void>) | undefined;

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
    this.#handle = handle;
  }

  /**
   * Hands one frame to graphql-ws. Not awaited: a subscription's handler
   * stays pending, with its error handler, as long as the subscription does.
   */
  receive(data: Buffer): void {
    this.#fail ??= (error) => {
      this.#socket.close(CloseCode.InternalServerError, fitReason(this.#onInternalError(error)));
    };
    this.#handle?.(data.toString('utf8')).catch(this.#fail);
  }
}

/**
 * graphql-ws's server over a `ws` server, as `graphql-ws/use/ws` does it, but
 * without an `async` message listener: that listener's frame would keep each
 * `subscribe` message's buffer alive for as long as its subscription lasts.
 * `onInternalError` logs an error that breaks a socket and returns its close
 * reason (4500). `clock` times the wait for `connection_init`. Returns the
 * disposer: it closes every socket with 1001 and the server.
 */
export function serveGraphQLWs<
  P extends Record<PropertyKey, unknown> | undefined,
  E extends Record<PropertyKey, unknown>,
>(
  options: ServerOptions<P, WsExtra & Partial<E>>,
  wss: WebSocketServer,
  keepAliveMs: number,
  onInternalError: (error: unknown) => string,
  clock: Clock = systemClock,
): { dispose(): Promise<void> } {
  const { connectionInitWaitTimeout: initWaitMs = 3_000, onConnect } = options;
  const initWaits = createInitWaits(initWaitMs, clock);
  const server = makeServer({
    ...options,
    // Ours instead: graphql-ws keeps its timer for as long as the connection, fired or not.
    connectionInitWaitTimeout: 0,
    onConnect(ctx) {
      initWaits.stop(ctx.extra.socket);
      return onConnect?.(ctx);
    },
  });
  wss.options.handleProtocols = handleProtocols;
  wss.once('error', (error) => {
    const reason = fitReason(onInternalError(error));
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, reason);
  });
  const adapters = new WeakMap<WebSocket, SocketAdapter>();
  function received(this: WebSocket, data: Buffer): void {
    adapters.get(this)?.receive(data);
  }
  function ended(this: WebSocket, code: number, reason: Buffer): void {
    initWaits.stop(this);
    const adapter = adapters.get(this);
    adapters.delete(this);
    void adapter?.closed?.(code, reason.toString('utf8'));
  }
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    socket.on('error', ignore);
    socket.on('pong', answered);
    socket.on('message', received);
    socket.on('close', ended);
    const adapter = new SocketAdapter(socket, onInternalError);
    adapters.set(socket, adapter);
    initWaits.start(socket);
    const extra: WsExtra = { socket, stream: request.socket };
    adapter.closed = server.opened(adapter, extra as WsExtra & Partial<E>);
  });
  // One timer for every socket, not one each: a peer that has not answered
  // its previous ping by its next one is gone. Each tick pings a slice of the
  // sockets, so that every one is pinged about once per `keepAliveMs`: a
  // sweep of thousands at once would hold the event loop for tens of ms.
  const unanswered = new WeakSet<WebSocket>();
  function answered(this: WebSocket): void {
    unanswered.delete(this);
  }
  const slices = Math.max(1, Math.round(keepAliveMs / heartbeatSliceMs));
  let sweep: Iterator<WebSocket> | undefined;
  const heartbeat = setInterval(() => {
    for (let left = Math.ceil(wss.clients.size / slices); left > 0; left--) {
      sweep ??= wss.clients.values();
      const next = sweep.next();
      if (next.done === true) {
        sweep = undefined;
        return;
      }
      const client = next.value;
      if (client.readyState !== client.OPEN) continue;
      if (unanswered.has(client)) {
        client.terminate();
        continue;
      }
      unanswered.add(client);
      client.ping();
    }
  }, keepAliveMs / slices);
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

/**
 * The time a socket has to send `connection_init`, then it is closed with
 * 4408: a wait while it has not, none once it has sent it.
 */
function createInitWaits(
  waitMs: number,
  clock: Clock,
): {
  readonly start: (socket: WebSocket) => void;
  readonly stop: (socket: WebSocket) => void;
} {
  const waits = new Map<WebSocket, AbortController>();
  return {
    start(socket) {
      if (!(waitMs > 0 && Number.isFinite(waitMs))) return;
      const waiting = new AbortController();
      waits.set(socket, waiting);
      void clock.sleep(waitMs, waiting.signal).then((elapsed) => {
        if (!elapsed) return;
        waits.delete(socket);
        socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
      });
    },
    stop(socket) {
      waits.get(socket)?.abort();
      waits.delete(socket);
    },
  };
}
