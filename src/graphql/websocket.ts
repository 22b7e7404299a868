import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { EnvelopedServer } from './enveloped-server.js';
import { WebSocketServer } from 'ws';
import { silentLogger, type Logger } from '../common/logger.js';
import type { ConnectionPrincipal } from './principal.js';
import { serveGraphQLWs } from './graphql-ws-server.js';
import { createTokenExpiry } from './token-expiry.js';
import { createInternalErrors, type InternalErrors } from './internal-errors.js';
import type { OperationRateLimit } from './operation-rate-limit.js';
import {
  authenticateConnection,
  closeSlowClient,
  createDirectSends,
  envelopedOf,
  prepareOperation,
  type ConnectionExtra,
} from './websocket-hooks.js';

export interface WebSocketOptions {
  /** @default '/graphql' */
  readonly path?: string;
  /**
   * Origins allowed to open a socket (exact match of the `Origin` header).
   * Requests without an `Origin` (non-browser clients) are always allowed.
   * The token travels in `connection_init`, never in a cookie, so a foreign
   * page cannot ride a user's session; the list narrows who may try.
   * @default undefined — any origin
   */
  readonly allowedOrigins?: readonly string[] | undefined;
  /**
   * Largest frame a client may send; a larger one closes the socket with 1009.
   * @default 65536
   */
  readonly maxPayloadBytes?: number;
  /**
   * Time a client has to send `connection_init`; then the socket is closed with 4408.
   * @default 3000
   */
  readonly connectionInitTimeoutMs?: number;
  /**
   * Subscriptions one socket may hold at once; one more is answered with a
   * GraphQL error and the socket stays open.
   * @default 50
   */
  readonly maxSubscriptionsPerConnection?: number;
  /**
   * Bytes a socket may have queued for sending. A stalled client past it is
   * closed with 1008 instead of growing the server's memory; it reconnects
   * and refetches.
   * @default 1048576
   */
  readonly maxBufferedBytes?: number;
  /**
   * Interval of the ping that detects dead peers; a peer that does not answer
   * within one more interval is terminated.
   * @default 12000
   */
  readonly keepAliveMs?: number;
}

export interface WebSocketDeps {
  readonly yoga: EnvelopedServer;
  /** Verifies `connection_init`'s `authorization` value; throws when it is missing or bad. */
  readonly authenticate: (authorization: unknown) => Promise<ConnectionPrincipal>;
  /** @default a silent logger */
  readonly logger?: Logger;
  /**
   * Logs an error that breaks a socket under an id; the close reason (4500)
   * carries the id, and the message only when errors are not masked.
   * @default createInternalErrors({ logger }) — logged, not masked
   */
  readonly internalErrors?: InternalErrors;
  /**
   * Subscribe messages per token and per connection: one over it gets an
   * error result; a connection that keeps going is closed with 1008.
   * @default no limit
   */
  readonly rateLimit?: OperationRateLimit;
}

export interface WebSocketEndpoint {
  /** Sockets open now. */
  readonly connections: number;
  /** Closes every socket with 1001 and stops accepting new ones. Idempotent. */
  close(): Promise<void>;
}

/** graphql-ws over `ws`, on the HTTP server's port and path, with yoga's envelop behind it. */
export function attachWebSocket(
  server: HttpServer,
  deps: WebSocketDeps,
  options: WebSocketOptions = {},
): WebSocketEndpoint {
  const {
    path = '/graphql',
    allowedOrigins,
    maxPayloadBytes = 65_536,
    connectionInitTimeoutMs = 3_000,
    maxSubscriptionsPerConnection = 50,
    maxBufferedBytes = 1_048_576,
    keepAliveMs = 12_000,
  } = options;
  const {
    yoga,
    authenticate,
    logger = silentLogger,
    internalErrors = createInternalErrors({ logger }),
    rateLimit,
  } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxPayloadBytes });
  const batch = createWriteBatch();
  const expiry = createTokenExpiry();
  const onUpgrade = upgradeHandler({ wss, path, allowedOrigins, logger });
  server.on('upgrade', onUpgrade);
  const disposable = serveGraphQLWs<Record<string, unknown> | undefined, ConnectionExtra>(
    {
      connectionInitWaitTimeout: connectionInitTimeoutMs,
      execute: (args) => envelopedOf(args).execute(args) as never,
      subscribe: (args) => envelopedOf(args).subscribe(args) as never,
      onConnect: authenticateConnection({ authenticate, logger, rateLimit, expiry }),
      onClose(ctx) {
        expiry.forget(ctx.extra.socket);
      },
      onSubscribe: prepareOperation({
        yoga,
        maxSubscriptionsPerConnection,
        directSends: createDirectSends(batch.hold),
      }),
      onNext: closeSlowClient(maxBufferedBytes, logger),
    },
    wss,
    keepAliveMs,
    (error) => {
      const { errorId, message } = internalErrors.report(error, 'websocket');
      return `${message} (${errorId})`;
    },
  );
  let closing: Promise<void> | undefined;
  return {
    get connections() {
      return wss.clients.size;
    },
    close() {
      closing ??= (async () => {
        server.off('upgrade', onUpgrade);
        expiry.dispose();
        await disposable.dispose(); // closes every client with 1001 Going away
      })();
      return closing;
    },
  };
}

/** Hands an upgrade on `path` from an allowed origin to `wss`; refuses any other. */
function upgradeHandler(deps: {
  readonly wss: WebSocketServer;
  readonly path: string;
  readonly allowedOrigins: readonly string[] | undefined;
  readonly logger: Logger;
}): (request: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { wss, path, allowedOrigins, logger } = deps;
  const origins = allowedOrigins === undefined ? undefined : new Set(allowedOrigins);
  return (request, socket, head) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== path) {
      reject(socket, 404, 'Not Found');
      return;
    }
    const origin = request.headers.origin;
    if (origins !== undefined && origin !== undefined && !origins.has(origin)) {
      logger.warn({ origin }, 'websocket origin refused');
      reject(socket, 403, 'Forbidden');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      wss.emit('connection', ws, request);
    });
  };
}

/**
 * One fan-out often sends several frames to one socket (a client with several
 * subscriptions): `hold` corks the socket's TCP stream until the fan-out's
 * synchronous run is over, so they leave in one write instead of one each.
 */
function createWriteBatch(): {
  /** Corks `stream`, the one a socket writes its frames to, until the current run is over. */
  readonly hold: (stream: Duplex) => void;
} {
  const held = new Set<Duplex>();
  const release = (): void => {
    for (const stream of held) stream.uncork();
    held.clear();
  };
  return {
    hold(stream) {
      if (held.has(stream)) return;
      if (held.size === 0) queueMicrotask(release);
      stream.cork();
      held.add(stream);
    },
  };
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
