import { createBackoff, type Backoff } from '../common/backoff.js';
import { systemClock, type Clock } from '../common/clock.js';
import { DisposedError, toError } from '../common/errors.js';
import { guardHook } from '../core/observer.js';
import { expectFunction, expectInteger, expectThat, rejectOption } from '../common/validate.js';
import { operationLabel, toPayload, type OperationVariables, type TypedDocumentNode } from './document.js';
import { ConnectionFailedError, OperationError, type CloseInfo } from './errors.js';
import {
  defaultRetry,
  retryUnlessFatal,
  type ConnectionStatus,
  type LiveClient,
  type LiveClientOptions,
  type RequestOptions,
} from './live-client-options.js';
import type { LiveQuery, LiveQueryOptions } from './live-query-options.js';
import { createLiveQuery, type LiveQueryHost } from './live-query.js';
import { withTenantHint } from './tenant-hint.js';
import { openSession, type Session, type SessionEnd, type WebSocketConstructor } from './session.js';
import { keepRenewing, renewalSettings, type RenewalSettings } from './session-renewal.js';

export function createLiveClient(options: LiveClientOptions): LiveClient {
  const {
    url,
    tenant,
    connectionParams,
    getToken,
    renewal = {},
    webSocketImpl = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket,
    retry = {},
    shouldRetry = retryUnlessFatal,
    connectionAckTimeoutMs = 10_000,
    signal,
    clock = systemClock,
    random = Math.random,
  } = options;
  expectThat('url', url, typeof url === 'string' || typeof url === 'function', 'a string or a function');
  const socketClass =
    typeof webSocketImpl === 'function'
      ? webSocketImpl
      : rejectOption(
          'webSocketImpl',
          webSocketImpl,
          'a WebSocket class (there is no global WebSocket here: pass one)',
        );
  expectFunction('shouldRetry', shouldRetry);
  expectThat(
    'tenant',
    tenant,
    tenant === undefined || typeof tenant === 'function' || (typeof tenant === 'string' && tenant !== ''),
    'a non-empty string or a function',
  );
  expectInteger('connectionAckTimeoutMs', connectionAckTimeoutMs, 0);
  const backoff: Backoff = createBackoff(retry, random, defaultRetry);
  const renewing =
    getToken === undefined
      ? undefined
      : renewalSettings(getToken, renewal, { clock, random, onRenewal: guardHook(options, 'onRenewal') });
  return new LiveClientEngine({
    url,
    tenant,
    connectionParams,
    renewal: renewing,
    webSocketImpl: socketClass,
    shouldRetry,
    connectionAckTimeoutMs,
    onStatus: guardHook(options, 'onStatus'),
    signal,
    clock,
    backoff,
  });
}

interface EngineOptions {
  readonly url: LiveClientOptions['url'];
  readonly tenant: LiveClientOptions['tenant'];
  readonly connectionParams: LiveClientOptions['connectionParams'];
  /** With `getToken`: how to renew its tokens. */
  readonly renewal: RenewalSettings | undefined;
  readonly webSocketImpl: WebSocketConstructor;
  readonly shouldRetry: (close: CloseInfo) => boolean;
  readonly connectionAckTimeoutMs: number;
  /** Guarded: a broken status hook must not break the connection. */
  readonly onStatus: (status: ConnectionStatus) => void;
  readonly signal: AbortSignal | undefined;
  readonly clock: Clock;
  readonly backoff: Backoff;
}

interface Waiter {
  readonly resolve: (session: Session) => void;
  readonly reject: (error: Error) => void;
}

/** The reconnection loop: one session after the other, with a backoff wait between them. */
class LiveClientEngine implements LiveClient {
  readonly #options: EngineOptions;
  #status: ConnectionStatus = 'connecting';
  #error: Error | undefined;
  /** The acknowledged session, while there is one; every live query is attached to it. */
  #current: Session | undefined;
  /** The session opening or open, so that dispose can close it. */
  #opening: Session | undefined;
  readonly #queries = new Set<LiveQueryHost>();
  /** Requests waiting for a connection. */
  readonly #waiters = new Set<Waiter>();
  /**
   * A renewal failed (or the server closed an acknowledged connection with
   * 4403 while the client has `getToken`): reconnect, whatever `shouldRetry` says.
   */
  #reconnect = false;
  /** Aborts the reconnection wait on dispose. */
  readonly #stop = new AbortController();
  readonly #stopped: Promise<void>;

  constructor(options: EngineOptions) {
    this.#options = options;
    const { signal } = options;
    const onAbort = (): void => void this.dispose();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#stopped = this.#run().finally(() => signal?.removeEventListener('abort', onAbort));
    if (signal?.aborted === true) void this.dispose();
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  get error(): Error | undefined {
    return this.#error;
  }

  async request<TData, TVariables extends OperationVariables>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
    options: RequestOptions = {},
  ): Promise<TData> {
    const { signal } = options;
    const label = operationLabel(document);
    const payload = toPayload(document, variables);
    signal?.throwIfAborted();
    const session = this.#current ?? (await this.#connected(signal));
    const result = await session.execute(payload, label, signal);
    if (result.errors !== undefined && result.errors.length > 0)
      throw new OperationError(label, result.errors);
    if (result.data === undefined || result.data === null) {
      throw new OperationError(label, [{ message: 'the answer had no data' }]);
    }
    return result.data as TData;
  }

  liveQuery<TData, TVariables extends OperationVariables, TPoke, TPokeVariables extends OperationVariables>(
    options: LiveQueryOptions<TData, TVariables, TPoke, TPokeVariables>,
  ): LiveQuery<TData> {
    if (this.#status === 'disposed') throw new DisposedError('The live client');
    const query = createLiveQuery(options, {
      session: this.#current,
      release: () => this.#queries.delete(query),
      recycle: (session) => {
        if (session === this.#current) {
          session.close({ code: 1000, reason: 'Subscription completed by the server' });
        }
      },
    });
    if (this.#status === 'failed' && this.#error !== undefined) query.fail(this.#error);
    else if (query.status !== 'disposed') this.#queries.add(query);
    return query;
  }

  async dispose(): Promise<void> {
    if (this.#status !== 'disposed') {
      this.#setStatus('disposed');
      this.#stop.abort();
      for (const query of [...this.#queries]) query.close();
      this.#queries.clear();
      this.#rejectWaiters(new DisposedError('The live client'));
      this.#opening?.close();
    }
    await this.#stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  async #run(): Promise<void> {
    const { clock, backoff, shouldRetry } = this.#options;
    /** Attempts since the last connection the server acknowledged. */
    let failures = 0;
    while (!this.#isDisposed()) {
      const end = await this.#attempt();
      if (this.#isDisposed()) return;
      failures = end.connected ? 1 : failures + 1;
      let retry = this.#reconnect || this.#tokenExpired(end);
      this.#reconnect = false;
      try {
        retry ||= shouldRetry(end.close);
      } catch {
        retry = false;
      }
      if (!retry) {
        this.#fail(new ConnectionFailedError(end.close, failures, end.error ? { cause: end.error } : {}));
        return;
      }
      this.#setStatus(this.#status === 'connecting' ? 'connecting' : 'reconnecting');
      if (!(await clock.sleep(backoff(failures), this.#stop.signal))) return;
    }
  }

  /** The server closed an acknowledged connection with 4403: its token expired, `getToken` has a new one. */
  #tokenExpired(end: SessionEnd): boolean {
    return this.#options.renewal !== undefined && end.connected && end.close.code === 4403;
  }

  /** One connection, from the attempt to its end. Never rejects. */
  async #attempt(): Promise<SessionEnd> {
    const { url, tenant, connectionParams, renewal, webSocketImpl, connectionAckTimeoutMs } = this.#options;
    let target: string;
    let params: Record<string, unknown> | undefined;
    let token: string | undefined;
    try {
      target = withTenantHint(
        typeof url === 'function' ? await url() : url,
        typeof tenant === 'function' ? tenant() : tenant,
      );
      const resolved = typeof connectionParams === 'function' ? await connectionParams() : connectionParams;
      params = resolved === undefined ? undefined : { ...resolved };
      if (renewal !== undefined) {
        token = await renewal.getToken();
        params = { ...params, authorization: `Bearer ${token}` };
      }
    } catch (thrown) {
      const error = toError(thrown);
      return { connected: false, close: { code: 1006, reason: error.message }, error };
    }
    if (this.#isDisposed()) return { connected: false, close: { code: 1000, reason: '' } };
    /** Ends the session's renewals with it. */
    const renewals = new AbortController();
    return new Promise<SessionEnd>((resolve) => {
      this.#opening = openSession({
        url: target,
        connectionParams: params,
        webSocketImpl,
        connectionAckTimeoutMs,
        onConnected: (session) => {
          this.#current = session;
          this.#setStatus('connected');
          for (const waiter of [...this.#waiters]) waiter.resolve(session);
          this.#waiters.clear();
          for (const query of [...this.#queries]) query.attach(session);
          if (renewal !== undefined && token !== undefined) {
            keepRenewing(session, token, renewal, renewals.signal, () => {
              this.#reconnect = true;
              session.close({ code: 1000, reason: 'Session renewal failed' });
            });
          }
        },
        onEnded: (end) => {
          renewals.abort();
          this.#current = undefined;
          this.#opening = undefined;
          for (const query of [...this.#queries]) query.detach();
          resolve(end);
        },
      });
    });
  }

  #connected(signal: AbortSignal | undefined): Promise<Session> {
    if (this.#status === 'failed' && this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#status === 'disposed') return Promise.reject(new DisposedError('The live client'));
    return new Promise<Session>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.delete(waiter);
        reject(toError(signal?.reason));
      };
      const waiter: Waiter = {
        resolve: (session) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(session);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #fail(error: Error): void {
    this.#error = error;
    this.#setStatus('failed');
    for (const query of [...this.#queries]) query.fail(error);
    this.#queries.clear();
    this.#rejectWaiters(error);
  }

  #rejectWaiters(error: Error): void {
    for (const waiter of [...this.#waiters]) waiter.reject(error);
    this.#waiters.clear();
  }

  /** Read through a method: the status changes across awaits, which narrowing cannot see. */
  #isDisposed(): boolean {
    return this.#status === 'disposed';
  }

  #setStatus(status: ConnectionStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.#options.onStatus(status);
  }
}
