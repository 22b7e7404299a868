import type { GraphQLFormattedError } from 'graphql';
import {
  createClient,
  type ClientOptions,
  type FormattedExecutionResult,
  type SubscribePayload,
} from 'graphql-ws/client';
import { toError } from '../common/errors.js';
import { ConnectionClosedError, type CloseInfo } from './errors.js';

/**
 * The WebSocket class to connect with: the browser's, Node's global one, or
 * the `ws` package's. Only what graphql-ws needs of it.
 */
export interface WebSocketConstructor {
  new (url: string, protocols?: string | string[]): unknown;
  readonly CONNECTING: number;
  readonly OPEN: number;
  readonly CLOSING: number;
  readonly CLOSED: number;
}

/** One result of an operation, as graphql-ws hands it over. */
export type OperationResult = FormattedExecutionResult<Record<string, unknown>, unknown>;

/** How a session ended. */
export interface SessionEnd {
  /** Whether the server acknowledged the connection before it ended. */
  readonly connected: boolean;
  readonly close: CloseInfo;
  /** The socket's last error, when it reported one. */
  readonly error?: Error;
}

export interface SessionSink {
  next(result: OperationResult): void;
  /** The server refused or ended the operation with GraphQL errors. */
  error(errors: readonly GraphQLFormattedError[]): void;
  /** The server completed the operation. */
  complete(): void;
}

/**
 * One WebSocket connection, from opening to close; it never reconnects (the
 * live client opens a new session for that). Operations sent from
 * `onConnected` or later go out in the order they were made.
 */
export interface Session {
  /** Subscribes; the sink hears nothing once the session has ended. Returns the unsubscribe. */
  subscribe(payload: SubscribePayload, sink: SessionSink): () => void;
  /**
   * Sends a query or mutation and resolves with its one result (with its
   * GraphQL errors, if any). Rejects with `ConnectionClosedError` when the
   * session ends first, and with the signal's reason when it aborts.
   */
  execute(payload: SubscribePayload, label: string, signal?: AbortSignal): Promise<OperationResult>;
  /** Closes the connection with `close` (1000 by default). Idempotent. */
  close(close?: CloseInfo): void;
}

export interface SessionOptions {
  readonly url: string;
  readonly connectionParams: Record<string, unknown> | undefined;
  readonly webSocketImpl: WebSocketConstructor;
  readonly connectionAckTimeoutMs: number;
  /** Synchronously, once the server acknowledged the connection. */
  readonly onConnected: (session: Session) => void;
  /** Synchronously, once, before any operation of the session hears of the end. */
  readonly onEnded: (end: SessionEnd) => void;
}

interface ClosableSocket {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
}

const normalClosure: CloseInfo = { code: 1000, reason: 'Normal Closure' };

/** Opens a connection now; `onEnded` reports its end, whatever the cause. */
export function openSession(options: SessionOptions): Session {
  const { onConnected, onEnded } = options;
  let connected = false;
  let ended: CloseInfo | undefined;
  let requested: CloseInfo | undefined;
  let socket: ClosableSocket | undefined;
  let lastError: Error | undefined;
  /** Executions waiting for their answer: each rejects when the session ends. */
  const pending = new Set<(close: CloseInfo) => void>();

  const end = (close: CloseInfo): void => {
    if (ended !== undefined) return;
    ended = requested ?? close;
    // graphql-ws would reconnect after a 1000 close: a disposed client never does.
    void Promise.resolve(client.dispose()).catch(() => undefined);
    onEnded(
      lastError === undefined ? { connected, close: ended } : { connected, close: ended, error: lastError },
    );
    for (const reject of [...pending]) reject(ended);
  };

  const client = createClient(
    toClientOptions(options, {
      opened: (opened) => {
        socket = opened as ClosableSocket;
        // Closed while it was still opening: close now that it can be.
        if (requested !== undefined) socket.close(requested.code, requested.reason);
      },
      connected: () => {
        if (ended !== undefined || requested !== undefined) return;
        connected = true;
        onConnected(session);
      },
      error: (error) => {
        lastError = toError(error);
      },
      closed: (event) => end(toCloseInfo(event)),
    }),
  );

  const session: Session = {
    subscribe(payload, sink) {
      if (ended !== undefined) return () => undefined;
      return client.subscribe(payload, {
        next: (result) => {
          if (ended === undefined) sink.next(result);
        },
        error: (error) => {
          if (ended === undefined && isGraphQLErrors(error)) sink.error(error);
        },
        complete: () => {
          if (ended === undefined) sink.complete();
        },
      });
    },

    execute(payload, label, signal) {
      return new Promise((resolve, reject) => {
        if (signal?.aborted === true) {
          reject(toError(signal.reason));
          return;
        }
        if (ended !== undefined) {
          reject(new ConnectionClosedError(label, ended));
          return;
        }
        let result: OperationResult | undefined;
        const settle = (then: () => void): void => {
          if (!pending.delete(onEnd)) return;
          signal?.removeEventListener('abort', onAbort);
          then();
        };
        const onEnd = (close: CloseInfo): void =>
          settle(() => reject(new ConnectionClosedError(label, close)));
        const onAbort = (): void =>
          settle(() => {
            unsubscribe();
            reject(toError(signal?.reason));
          });
        pending.add(onEnd);
        signal?.addEventListener('abort', onAbort, { once: true });
        const unsubscribe = client.subscribe(payload, {
          next: (value) => {
            result = value;
          },
          error: (error) => {
            if (isGraphQLErrors(error)) settle(() => resolve({ errors: error }));
            else onEnd(ended ?? toCloseInfo(error));
          },
          complete: () => {
            if (result === undefined) onEnd(ended ?? normalClosure);
            else {
              const value = result;
              settle(() => resolve(value));
            }
          },
        });
      });
    },

    close(close = normalClosure) {
      if (ended !== undefined || requested !== undefined) return;
      requested = close;
      if (socket !== undefined) socket.close(close.code, close.reason);
      // Not open yet: graphql-ws closes it once it is (and `opened` above closes it sooner).
      else void Promise.resolve(client.dispose()).catch(() => undefined);
    },
  };
  return session;
}

/**
 * graphql-ws's options for one session: connect now, never retry (the live
 * client opens a new session for that), and report through `on`.
 */
function toClientOptions(options: SessionOptions, on: NonNullable<ClientOptions['on']>): ClientOptions {
  const { url, connectionParams, webSocketImpl, connectionAckTimeoutMs } = options;
  return {
    url,
    connectionParams,
    webSocketImpl,
    lazy: false,
    retryAttempts: 0,
    connectionAckWaitTimeout: connectionAckTimeoutMs,
    // The `closed` listener reports every end; this would only repeat it.
    onNonLazyError: () => undefined,
    on,
  };
}

function isGraphQLErrors(value: unknown): value is readonly GraphQLFormattedError[] {
  return Array.isArray(value);
}

/** A CloseEvent (browser or `ws`), or anything graphql-ws reports instead: an error, an Event. */
function toCloseInfo(event: unknown): CloseInfo {
  if (typeof event === 'object' && event !== null && 'code' in event && typeof event.code === 'number') {
    const reason = 'reason' in event && typeof event.reason === 'string' ? event.reason : '';
    return { code: event.code, reason };
  }
  return { code: 1006, reason: event instanceof Error ? event.message : 'Abnormal Closure' };
}
