import { CloseCode } from 'graphql-ws';
import type { WebSocket } from 'ws';
import { PokegateError, toError } from '../common/errors.js';
import type { ConnectionPrincipal } from './principal.js';
import type { TokenExpiry } from './token-expiry.js';

/** The `extensions.code` of the error result that ends a subscription a renewed principal no longer allows. */
export const forbiddenCode = 'FORBIDDEN';

/** `renewed`: every subscription goes on; `narrowed`: some ended, the new principal does not allow them. */
export type RenewalOutcome = 'renewed' | 'narrowed';

/** What a renewal did. */
export interface Renewal<P extends ConnectionPrincipal = ConnectionPrincipal> {
  /** The connection's principal from now on. */
  readonly principal: P;
  readonly outcome: RenewalOutcome;
  /** Subscriptions ended because `principal` does not allow them. */
  readonly ended: number;
}

/**
 * Why a renewal was refused; the connection is closed with 4403 for each but `closed`:
 * - `invalid` — `authenticate` refused the credential;
 * - `identity` — it names another identity than the connection's;
 * - `expired` — it has expired already;
 * - `closed` — the connection closed before the renewal was done.
 */
export type RenewalFailure = 'invalid' | 'identity' | 'expired' | 'closed';

/** A renewal refused: the connection is closed (with 4403, but for `closed`) and keeps no new principal. */
export class SessionRenewalError extends PokegateError {
  override name = 'SessionRenewalError';
  readonly reason: RenewalFailure;
  constructor(reason: RenewalFailure, detail: string, options?: ErrorOptions) {
    super(`Session renewal refused (${reason}): ${detail}`, options);
    this.reason = reason;
  }
}

/**
 * A WebSocket connection's session as one operation on it sees it: the
 * context's `session`, for operations over a WebSocket only (HTTP and SSE
 * have no connection to renew).
 */
export interface ConnectionSession<P extends ConnectionPrincipal = ConnectionPrincipal> {
  /** The connection's principal now: the latest renewal's, or `connection_init`'s. */
  readonly principal: P;
  /**
   * Renews the connection's principal in place, without reconnecting:
   * verifies `authorization` (what `connection_init`'s `authorization`
   * carries, e.g. `Bearer <jwt>`) with the same `authenticate`; the new
   * principal must have the same identity (`sameIdentity`, by default the
   * same `sub`) and must not have expired. Then it becomes the connection's,
   * the connection expires with it (or never, without `expiresAt`), and every
   * subscription whose `guard` refuses it ends with an error result
   * (`extensions.code: "FORBIDDEN"`) followed by `complete`; the others go on,
   * without a resync and without a gap. Renewals of one connection run one
   * after the other, in the order they were asked for.
   *
   * Rejects with `SessionRenewalError`, once the connection is closed with
   * 4403 (but for `closed`): a refused credential ends the connection as an
   * expired one does.
   */
  renew(authorization: unknown): Promise<Renewal<P>>;
  /**
   * For a subscription: `allowed(principal, key)` decides, at each renewal,
   * whether the renewed principal may still have it — the per-key check its
   * resolver has just made, e.g. `guard(canRead, companyId)`: a function and
   * its key rather than a closure, so that an idle subscription holds no more
   * than the two. Asked at once as well, against a principal renewed since
   * the operation started. A throw counts as false. Calls after the first
   * replace it.
   */
  guard<K>(allowed: (principal: P, key: K) => boolean, key: K): void;
}

/** What a connection's session needs of the server: shared by every connection. */
export interface SessionDeps {
  readonly authenticate: (authorization: unknown) => Promise<ConnectionPrincipal>;
  readonly sameIdentity: (current: ConnectionPrincipal, next: ConnectionPrincipal) => boolean;
  readonly expiry: TokenExpiry;
  /** Whenever a renewal is refused, with its reason. */
  readonly onRefused: (error: SessionRenewalError) => void;
}

/** What a session needs of graphql-ws's connection: its socket and its subscriptions by id. */
export interface SessionConnection {
  readonly extra: { readonly socket: WebSocket };
  /** graphql-ws's: an id maps to its iterator (null while it starts); replaced on close. */
  readonly subscriptions: Record<string, unknown>;
}

type Guard = (principal: ConnectionPrincipal, key: unknown) => boolean;

/**
 * One connection's principal, its renewals and its subscriptions' guards. A
 * class rather than closures: one lives as long as its connection.
 */
export class ConnectionState {
  readonly #deps: SessionDeps;
  readonly #connection: SessionConnection;
  #principal: ConnectionPrincipal;
  /** Renewals so far: an operation started before the latest asks its guard at once. */
  #renewals = 0;
  /**
   * The guarded operations: an array made at the first guard (of one, as
   * most connections hold one subscription), not a map, which would cost an
   * idle connection a few hundred bytes; a connection holds at most
   * `maxSubscriptionsPerConnection` operations.
   */
  #guarded: OperationSession[] | undefined;
  /** The renewal running, if any: the next waits for it. */
  #running: Promise<unknown> | undefined;

  constructor(deps: SessionDeps, connection: SessionConnection, principal: ConnectionPrincipal) {
    this.#deps = deps;
    this.#connection = connection;
    this.#principal = principal;
  }

  get principal(): ConnectionPrincipal {
    return this.#principal;
  }

  /** The session operation `id` sees. */
  forOperation(id: string): ConnectionSession {
    return new OperationSession(this, id, this.#renewals);
  }

  /** Operation `id` completed: forget its guard. */
  completed(id: string): void {
    this.#forget(id);
  }

  /** `operation` has a guard now. */
  guarded(operation: OperationSession, renewalsAtStart: number): void {
    if (this.#guarded === undefined) this.#guarded = [operation];
    else if (!this.#guarded.includes(operation)) this.#guarded.push(operation);
    // A renewal came between the operation's start and this guard: it has not been asked yet.
    if (renewalsAtStart !== this.#renewals && !operation.permits(this.#principal)) this.#end(operation.id);
  }

  renew(authorization: unknown): Promise<Renewal> {
    const renewal = (this.#running ?? Promise.resolve()).then(() => this.#renew(authorization));
    const running = renewal.catch(() => undefined);
    this.#running = running;
    // The last one done: an idle connection keeps no settled promise.
    void running.then(() => {
      if (this.#running === running) this.#running = undefined;
    });
    return renewal;
  }

  #forget(id: string): void {
    const guarded = this.#guarded;
    if (guarded === undefined) return;
    const index = guarded.findIndex((operation) => operation.id === id);
    if (index >= 0) guarded.splice(index, 1);
    if (guarded.length === 0) this.#guarded = undefined;
  }

  async #renew(authorization: unknown): Promise<Renewal> {
    const socket = this.#connection.extra.socket;
    if (!this.#open()) throw this.#refuse('closed', 'the connection is closed');
    let next: ConnectionPrincipal;
    try {
      next = await this.#deps.authenticate(authorization);
    } catch (error) {
      throw this.#refuse('invalid', 'the credential does not verify', toError(error));
    }
    // The connection may have closed (or expired) while the credential was verified.
    if (!this.#open()) throw this.#refuse('closed', 'the connection is closed');
    let same: boolean;
    try {
      same = this.#deps.sameIdentity(this.#principal, next);
    } catch (error) {
      throw this.#refuse('identity', 'the identity check failed', toError(error));
    }
    if (!same) throw this.#refuse('identity', 'the credential names another identity');
    if (next.expiresAt !== undefined && next.expiresAt <= Date.now())
      throw this.#refuse('expired', 'the credential has expired');
    this.#principal = next;
    this.#renewals++;
    if (next.expiresAt === undefined) this.#deps.expiry.forget(socket);
    else this.#deps.expiry.watch(socket, next.expiresAt);
    let ended = 0;
    for (const operation of [...(this.#guarded ?? [])]) {
      if (!(operation.id in this.#connection.subscriptions)) this.#forget(operation.id);
      else if (!operation.permits(next)) {
        this.#end(operation.id);
        ended++;
      }
    }
    return { principal: next, outcome: ended > 0 ? 'narrowed' : 'renewed', ended };
  }

  /** Read through a method: the socket's state changes across awaits, which narrowing cannot see. */
  #open(): boolean {
    const socket = this.#connection.extra.socket;
    return socket.readyState === socket.OPEN;
  }

  #refuse(reason: RenewalFailure, detail: string, cause?: Error): SessionRenewalError {
    const error = new SessionRenewalError(reason, detail, cause === undefined ? {} : { cause });
    const socket = this.#connection.extra.socket;
    if (reason !== 'closed' && this.#open()) {
      socket.close(CloseCode.Forbidden, reason === 'expired' ? 'Token expired' : 'Forbidden');
    }
    this.#deps.onRefused(error);
    return error;
  }

  /**
   * Ends subscription `id` as the protocol lets a server: an error result,
   * then `complete`, then its iterator returns, which closes its receiver.
   * graphql-ws sends nothing more for it once it is out of `subscriptions`.
   */
  #end(id: string): void {
    this.#forget(id);
    const subscriptions = this.#connection.subscriptions;
    if (!(id in subscriptions)) return;
    const iterator = subscriptions[id];
    Reflect.deleteProperty(subscriptions, id);
    const socket = this.#connection.extra.socket;
    const key = JSON.stringify(id);
    socket.send(`{"id":${key},"type":"next","payload":${forbiddenPayload}}`);
    socket.send(`{"id":${key},"type":"complete"}`);
    if (hasReturn(iterator)) iterator.return().catch(() => undefined);
  }
}

const forbiddenPayload = JSON.stringify({
  errors: [
    {
      message: 'Forbidden: the renewed session does not allow this subscription',
      extensions: { code: forbiddenCode },
    },
  ],
});

/** One operation's view of its connection's session, and its guard. */
class OperationSession implements ConnectionSession {
  readonly #state: ConnectionState;
  readonly #id: string;
  readonly #renewalsAtStart: number;
  #allowed: Guard | undefined;
  #key: unknown;

  constructor(state: ConnectionState, id: string, renewalsAtStart: number) {
    this.#state = state;
    this.#id = id;
    this.#renewalsAtStart = renewalsAtStart;
  }

  get principal(): ConnectionPrincipal {
    return this.#state.principal;
  }

  /** graphql-ws's id of the operation. */
  get id(): string {
    return this.#id;
  }

  renew(authorization: unknown): Promise<Renewal> {
    return this.#state.renew(authorization);
  }

  guard<K>(allowed: (principal: ConnectionPrincipal, key: K) => boolean, key: K): void {
    this.#allowed = allowed as Guard;
    this.#key = key;
    this.#state.guarded(this, this.#renewalsAtStart);
  }

  /** Whether its guard allows `principal`; a throw counts as no. */
  permits(principal: ConnectionPrincipal): boolean {
    try {
      return this.#allowed?.(principal, this.#key) ?? true;
    } catch {
      return false;
    }
  }
}

function hasReturn(value: unknown): value is { return(): Promise<unknown> } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { return?: unknown }).return === 'function'
  );
}
