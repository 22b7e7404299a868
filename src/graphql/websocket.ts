import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { EnvelopedServer } from './enveloped-server.js';
import { WebSocketServer } from 'ws';
import { silentLogger, type Logger } from '../common/logger.js';
import type { ConnectionPrincipal } from './principal.js';
import { serveGraphQLWs } from './graphql-ws-server.js';
import { createTokenExpiry } from './token-expiry.js';
import { createWriteBatch } from './write-batch.js';
import { createInternalErrors, type InternalErrors } from './internal-errors.js';
import type { SessionDeps, SessionRenewalError } from './connection-session.js';
import type { OperationRateLimit } from './operation-rate-limit.js';
import {
  authenticateConnection,
  closeSlowClient,
  createDirectSends,
  envelopedOf,
  forgetOperation,
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

export interface WebSocketDeps<P extends ConnectionPrincipal = ConnectionPrincipal> {
  readonly yoga: EnvelopedServer;
  /**
   * Verifies `connection_init`'s `authorization` value, and each renewal's
   * (`ConnectionSession.renew`); throws when it is missing or bad.
   */
  readonly authenticate: (authorization: unknown) => Promise<P>;
  /**
   * Whether a renewal's principal is the same identity as the connection's;
   * a renewal for another is refused and closes the connection with 4403.
   * A throw counts as false.
   * @default the same `sub`
   */
  readonly sameIdentity?: (current: P, next: P) => boolean;
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

/**
 * graphql-ws over `ws`, on the HTTP server's port and path, with yoga's
 * envelop behind it. Each operation's initial context holds the connection's
 * `principal` and its `session` (a `ConnectionSession`: renew the principal
 * in place, guard a subscription against a renewal).
 */
export function attachWebSocket<P extends ConnectionPrincipal>(
  server: HttpServer,
  deps: WebSocketDeps<P>,
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
    sameIdentity = sameSub,
    logger = silentLogger,
    internalErrors = createInternalErrors({ logger }),
    rateLimit,
  } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxPayloadBytes });
  const batch = createWriteBatch();
  const expiry = createTokenExpiry();
  const session: SessionDeps = {
    authenticate,
    // Every principal the session compares came from `authenticate`: a P.
    sameIdentity: sameIdentity as SessionDeps['sameIdentity'],
    expiry,
    onRefused: (error: SessionRenewalError) => {
      logger.debug({ err: error }, 'websocket session renewal refused');
    },
  };
  const onUpgrade = upgradeHandler({ wss, path, allowedOrigins, logger });
  server.on('upgrade', onUpgrade);
  const disposable = serveGraphQLWs<Record<string, unknown> | undefined, ConnectionExtra>(
    {
      connectionInitWaitTimeout: connectionInitTimeoutMs,
      execute: (args) => envelopedOf(args).execute(args) as never,
      subscribe: (args) => envelopedOf(args).subscribe(args) as never,
      onConnect: authenticateConnection({ session, logger, rateLimit }),
      onClose(ctx) {
        expiry.forget(ctx.extra.socket);
      },
      onSubscribe: prepareOperation({
        yoga,
        maxSubscriptionsPerConnection,
        directSends: createDirectSends(batch.hold),
      }),
      onNext: closeSlowClient(maxBufferedBytes, logger),
      onComplete: forgetOperation,
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

function sameSub(current: ConnectionPrincipal, next: ConnectionPrincipal): boolean {
  return current.sub === next.sub;
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

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
