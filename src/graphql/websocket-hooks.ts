import type { Duplex } from 'node:stream';
import { GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { createLogThrottle } from '../common/log-throttle.js';
import type { Logger } from '../common/logger.js';
import { createResultSerializer, type DirectSend, type DirectSendArgs } from './direct-send.js';
import type { WsExtra } from './graphql-ws-server.js';
import type { ConnectionAdmission, OperationRateLimit } from './operation-rate-limit.js';
import type { ConnectionPrincipal } from './principal.js';
import type { createTokenExpiry } from './token-expiry.js';
import type { EnvelopedServer } from './enveloped-server.js';

// The graphql-ws hooks `attachWebSocket` composes, one per step of a
// connection's life: authenticate it, prepare each operation, watch its writes.

export interface ConnectionExtra extends Record<PropertyKey, unknown> {
  principal: ConnectionPrincipal;
  admission?: ConnectionAdmission;
}

type Options = ServerOptions<Record<string, unknown> | undefined, WsExtra & Partial<ConnectionExtra>>;
type Hook<K extends keyof Options> = NonNullable<Options[K]>;

/** The envelop's own `execute` and `subscribe` for one operation (instrumented per operation). */
export interface Enveloped {
  readonly execute: (args: ExecutionArgs) => unknown;
  readonly subscribe: (args: ExecutionArgs) => unknown;
}

/**
 * What `prepareOperation` returns to graphql-ws for one operation: the
 * execution arguments, the envelop that runs them, and the direct send to the
 * subscriber. graphql-ws calls its `execute` and `subscribe` options with
 * this very object and nothing else, so what they need travels in it.
 */
export interface OperationArgs extends DirectSendArgs {
  readonly enveloped: Enveloped;
}

/** The envelop `prepareOperation` put in the arguments graphql-ws hands back. */
export function envelopedOf(args: ExecutionArgs): Enveloped {
  return (args as OperationArgs).enveloped;
}

/**
 * `onConnect`: verifies `connection_init`'s token, keeps the principal on the
 * connection, and sets up its rate limit and its token's expiry.
 */
export function authenticateConnection(deps: {
  readonly authenticate: (authorization: unknown) => Promise<ConnectionPrincipal>;
  readonly logger: Logger;
  readonly rateLimit: OperationRateLimit | undefined;
  readonly expiry: ReturnType<typeof createTokenExpiry>;
}): Hook<'onConnect'> {
  const { authenticate, logger, rateLimit, expiry } = deps;
  return async (ctx) => {
    const authorization = ctx.connectionParams?.['authorization'];
    // graphql-ws keeps the payload for the connection's life; the token is needed only here.
    (ctx as { connectionParams?: unknown }).connectionParams = undefined;
    let principal: ConnectionPrincipal;
    try {
      principal = await authenticate(authorization);
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
  };
}

/**
 * `onSubscribe`: admits the operation (rate limit, subscriptions per
 * connection), parses and validates it through yoga's envelop, and gives its
 * arguments the envelop that runs it and the direct send to its subscriber.
 */
export function prepareOperation(deps: {
  readonly yoga: EnvelopedServer;
  readonly maxSubscriptionsPerConnection: number;
  readonly directSends: DirectSends;
}): Hook<'onSubscribe'> {
  const { yoga, maxSubscriptionsPerConnection, directSends } = deps;
  // Envelop hands out the same `execute` and `subscribe` unless an instrumentation wraps them
  // per operation: one shared object while they stay the same.
  let enveloped: Enveloped | undefined;
  return async (ctx, id, params) => {
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
    if (enveloped?.execute !== execute || enveloped.subscribe !== subscribe)
      enveloped = { execute, subscribe };
    const args: OperationArgs = {
      schema,
      document,
      operationName: params.operationName ?? null,
      variableValues: params.variables ?? null,
      contextValue,
      // Set here, though GraphQL's default: graphql-ws would add it later, outside the object's own slots.
      rootValue: undefined,
      enveloped,
      directSend: directSends(ctx, id),
    };
    return args;
  };
}

/**
 * `onNext`: a stalled client past `maxBufferedBytes` is closed with 1008
 * instead of growing the server's memory. Many stalled at once are one log
 * line, then one summary per interval.
 */
export function closeSlowClient(maxBufferedBytes: number, logger: Logger): Hook<'onNext'> {
  const closing = createLogThrottle({ logger });
  return (ctx) => {
    const socket = ctx.extra.socket;
    // Already closing: its further pokes change nothing.
    if (socket.readyState !== socket.OPEN || socket.bufferedAmount <= maxBufferedBytes) return;
    closing.warn('too slow', { bufferedBytes: socket.bufferedAmount }, 'websocket client too slow, closing');
    socket.close(1008, 'Client too slow');
  };
}

/**
 * Bytes queued for sending under which a socket counts as keeping up: its
 * pokes are sent during the fan-out. Over it they take graphql-ws's path,
 * which waits for each write, behind the receiver's bounded buffer.
 */
const directBufferedBytes = 65_536;

/** What a direct send needs of graphql-ws's context: the socket and its subscriptions. */
interface SocketContext {
  readonly subscriptions: Record<string, unknown>;
  readonly extra: WsExtra;
}

type DirectSends = (ctx: SocketContext, id: string) => DirectSend;

/** What every direct send of one server shares. */
interface FrameWriter {
  readonly serialize: (result: ExecutionResult) => string;
  readonly hold: (stream: Duplex) => void;
}

/**
 * graphql-ws's `next` frame for subscription `id`, written at once: the
 * payload is serialised once per shared result, the frame is one string
 * concatenation, and nothing is awaited per subscriber. `hold` batches the
 * frames of one fan-out into one write.
 */
export function createDirectSends(hold: (stream: Duplex) => void): DirectSends {
  const writer: FrameWriter = { serialize: createResultSerializer(), hold };
  return (ctx, id) => new DirectSender(writer, ctx, id);
}

/** One subscription's direct send: an object, not a closure, as one lives as long as its subscription. */
class DirectSender implements DirectSend {
  readonly #writer: FrameWriter;
  readonly #ctx: SocketContext;
  readonly #id: string;
  /** The frame up to its payload, made at the first send: an idle subscription does without. */
  #prefix: string | undefined;

  constructor(writer: FrameWriter, ctx: SocketContext, id: string) {
    this.#writer = writer;
    this.#ctx = ctx;
    this.#id = id;
  }

  send(result: ExecutionResult): boolean {
    const { socket, stream } = this.#ctx.extra;
    if (socket.readyState !== socket.OPEN || socket.bufferedAmount > directBufferedBytes) return false;
    if (!(this.#id in this.#ctx.subscriptions)) return false;
    this.#prefix ??= `{"id":${JSON.stringify(this.#id)},"type":"next","payload":`;
    this.#writer.hold(stream);
    socket.send(`${this.#prefix}${this.#writer.serialize(result)}}`);
    return true;
  }
}
