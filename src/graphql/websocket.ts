import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../transport/logger.js';
import {
  createResultSerializer,
  setDirectDelivery,
  type DirectDelivery,
} from '../graphql/direct-delivery.js';
import type { ConnectionPrincipal } from './principal.js';
import { serveGraphQLWs } from './graphql-ws-server.js';
import { createTokenExpiry } from './token-expiry.js';
import { createInternalErrors, type InternalErrors } from './internal-errors.js';
import type { ConnectionAdmission, OperationRateLimit } from './operation-rate-limit.js';

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

/** What the socket needs of yoga: its envelop, so plugins and context apply to WebSocket operations too. */
export interface EnvelopedServer {
  getEnveloped(initialContext: Record<string, unknown>): {
    readonly schema: GraphQLSchema;
    readonly execute: (args: ExecutionArgs) => unknown;
    readonly subscribe: (args: ExecutionArgs) => unknown;
    readonly contextFactory: () => unknown;
    readonly parse: (source: string) => DocumentNode;
    readonly validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[];
  };
}

export interface WebSocketDeps {
  readonly yoga: EnvelopedServer;
  /** Verifies `connection_init`'s `authorization` value; throws when it is missing or bad. */
  readonly authenticate: (authorization: unknown) => Promise<ConnectionPrincipal>;
  readonly logger: Logger;
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

interface ConnectionExtra extends Record<PropertyKey, unknown> {
  principal: ConnectionPrincipal;
  admission?: ConnectionAdmission;
}

interface Enveloped {
  readonly execute: (args: ExecutionArgs) => unknown;
  readonly subscribe: (args: ExecutionArgs) => unknown;
}

/**
 * Bytes queued for sending under which a socket counts as keeping up: its
 * pokes are sent during the fan-out. Over it they take graphql-ws's path,
 * which waits for each write, behind the receiver's bounded buffer.
 */
const directBufferedBytes = 65_536;

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
  const { yoga, authenticate, logger, internalErrors = createInternalErrors({ logger }), rateLimit } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxPayloadBytes });
  const origins = allowedOrigins === undefined ? undefined : new Set(allowedOrigins);
  const serialize = createResultSerializer();
  const batch = createWriteBatch();
  const expiry = createTokenExpiry();

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
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
      batch.track(ws, socket);
      wss.emit('connection', ws, request);
    });
  };
  server.on('upgrade', onUpgrade);

  const disposable = serveGraphQLWs<Record<string, unknown> | undefined, ConnectionExtra>(
    {
      connectionInitWaitTimeout: connectionInitTimeoutMs,
      execute: (args) => (args.rootValue as Enveloped).execute(args) as never,
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args) as never,
      async onConnect(ctx) {
        let principal: ConnectionPrincipal;
        try {
          principal = await authenticate(ctx.connectionParams?.['authorization']);
        } catch (error) {
          logger.debug({ err: error }, 'websocket authentication failed');
          return false; // graphql-ws closes with 4403 Forbidden
        }
        ctx.extra.principal = principal;
        const socket = ctx.extra.socket;
        if (rateLimit !== undefined)
          ctx.extra.admission = rateLimit.forConnection(principal, (code, reason) =>
            // After the refusal's error message, which graphql-ws sends once onSubscribe returns.
            setImmediate(() => socket.close(code, reason)),
          );
        if (principal.expiresAt !== undefined) expiry.watch(socket, principal.expiresAt);
        return true;
      },
      onClose(ctx) {
        expiry.forget(ctx.extra.socket);
      },
      async onSubscribe(ctx, id, params) {
        const refused = ctx.extra.admission?.admit();
        if (refused !== undefined) return [refused];
        if (Object.keys(ctx.subscriptions).length > maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(
              `Too many subscriptions on this connection (at most ${maxSubscriptionsPerConnection})`,
            ),
          ];
        }
        // Not graphql-ws's whole `ctx`: this object becomes the operation's context and lives
        // as long as the subscription; a copy of ctx's fields would cost every one of them.
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          socket: ctx.extra.socket,
          params,
          principal: ctx.extra.principal,
        });
        let document: DocumentNode;
        try {
          document = parse(params.query);
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError('Invalid GraphQL document')];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        const contextValue = (await contextFactory()) as object;
        setDirectDelivery(contextValue, directSend(ctx, id));
        const args: ExecutionArgs = {
          schema,
          document,
          operationName: params.operationName ?? null,
          variableValues: params.variables ?? null,
          contextValue,
          rootValue: { execute, subscribe } satisfies Enveloped,
        };
        return args;
      },
      onNext(ctx) {
        const socket = ctx.extra.socket;
        if (socket.bufferedAmount > maxBufferedBytes) {
          logger.warn({ bufferedBytes: socket.bufferedAmount }, 'websocket client too slow, closing');
          socket.close(1008, 'Client too slow');
        }
      },
    },
    wss,
    keepAliveMs,
    (error) => {
      const { errorId, message } = internalErrors.report(error, 'websocket');
      return `${message} (${errorId})`;
    },
  );

  /**
   * graphql-ws's `next` frame for subscription `id`, written at once: the
   * payload is serialised once per shared result, the frame is one string
   * concatenation, and nothing is awaited per subscriber.
   */
  function directSend(
    ctx: { readonly subscriptions: Record<string, unknown>; readonly extra: { readonly socket: WebSocket } },
    id: string,
  ): DirectDelivery {
    const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
    return (result) => {
      const socket = ctx.extra.socket;
      if (socket.readyState !== socket.OPEN || socket.bufferedAmount > directBufferedBytes) return false;
      if (!(id in ctx.subscriptions)) return false;
      batch.hold(socket);
      socket.send(`${prefix}${serialize(result)}}`);
      return true;
    };
  }

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

/**
 * One fan-out often sends several frames to one socket (a client with several
 * subscriptions): `hold` corks the socket's TCP stream until the fan-out's
 * synchronous run is over, so they leave in one write instead of one each.
 */
function createWriteBatch(): {
  /** Remembers the stream under `ws`, the one `ws` writes its frames to. */
  track(ws: WebSocket, stream: Duplex): void;
  hold(ws: WebSocket): void;
} {
  const streams = new WeakMap<WebSocket, Duplex>();
  const held = new Set<Duplex>();
  const release = (): void => {
    for (const stream of held) stream.uncork();
    held.clear();
  };
  return {
    track(ws, stream) {
      streams.set(ws, stream);
    },
    hold(ws) {
      const stream = streams.get(ws);
      if (stream === undefined || held.has(stream)) return;
      if (held.size === 0) queueMicrotask(release);
      stream.cork();
      held.add(stream);
    },
  };
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
