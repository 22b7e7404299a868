// The load generator's subscribers: plain `ws` sockets speaking
// graphql-transport-ws, several subscriptions each, recording when each poke
// arrives. Every server gets exactly the same frames.
import WebSocket from 'ws';
import { withTenantHint } from 'pokegate/client';
import { subprotocol, subscriptionQuery, type Poke } from './workload.js';

/** Epoch milliseconds with sub-millisecond resolution, comparable across the benchmark's processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export type PokeListener = (subscriber: number, poke: Poke, at: number) => void;

interface Frame {
  readonly type: string;
  readonly id?: string;
  readonly payload?: { data?: { ordersChanged?: Poke } | null; errors?: unknown } | unknown[];
}

/** Sockets opened at once while connecting. */
const connectConcurrency = 32;

export interface SubscriberPool {
  /** Subscribers open; each `open` appends its subscribers after them. */
  readonly size: number;
  /** Protocol errors, error frames and unexpected completions since the last call. */
  takeErrors(): string[];
  /** Receives every poke; replaced per scenario. */
  listener: PokeListener;
  /**
   * Opens `companies.length` more subscriptions, `perSocket` on each socket;
   * resolves once all are sent. Subscriber `size + i` has `companies[i]`.
   */
  open(companies: readonly string[], perSocket: number): Promise<void>;
  /**
   * Opens one more socket with `subscriptions` subscriptions on `companyId`
   * whose pokes nobody records: the client that {@link SubscriberPool.stall}s.
   */
  openStalled(companyId: string, subscriptions: number): Promise<void>;
  /** Stops reading that socket, as a client whose tab froze: the server's writes pile up. */
  stall(): void;
  /** Closes every socket and waits for the closes (the stalled one is cut). */
  close(): Promise<void>;
}

/**
 * With `tenantHint`, each socket's URL names the company of its first
 * subscription as `pokegate/client` does, for a load balancer that hashes by it.
 */
export function createSubscriberPool(
  wsUrl: string,
  authorization: string,
  tenantHint = false,
): SubscriberPool {
  const sockets: WebSocket[] = [];
  const errors: string[] = [];
  let size = 0;
  let stalled: WebSocket | undefined;

  const pool: SubscriberPool = {
    get size() {
      return size;
    },
    takeErrors: () => errors.splice(0),
    listener: () => undefined,
    async open(companies, perSocket) {
      const groups: string[][] = [];
      for (let i = 0; i < companies.length; i += perSocket) groups.push(companies.slice(i, i + perSocket));
      const base = size;
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < groups.length) {
          const index = next++;
          await connect(base + index * perSocket, groups[index] ?? []);
        }
      };
      await Promise.all(Array.from({ length: connectConcurrency }, worker));
      size += companies.length;
    },
    async openStalled(companyId, subscriptions) {
      stalled = await connect(
        -1,
        Array.from({ length: subscriptions }, () => companyId),
      );
    },
    stall() {
      stalled?.pause();
    },
    async close() {
      stalled?.terminate();
      stalled = undefined;
      await Promise.all(
        sockets.splice(0).map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.readyState === WebSocket.CLOSED) {
                resolve();
                return;
              }
              const timer = setTimeout(() => socket.terminate(), 5_000);
              socket.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              socket.close(1000);
            }),
        ),
      );
      size = 0;
    },
  };

  /** Opens a socket of subscribers `base`, `base + 1`, …; a negative `base` opens the stalled one. */
  function connect(base: number, companies: readonly string[]): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const url = tenantHint ? withTenantHint(wsUrl, companies[0]) : wsUrl;
      const socket = new WebSocket(url, subprotocol, { perMessageDeflate: false });
      const recorded = base >= 0;
      if (recorded) sockets.push(socket);
      const timer = setTimeout(() => {
        reject(new Error(`no connection_ack from ${wsUrl} within 30 s`));
      }, 30_000);
      socket.once('open', () => {
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.on('close', (code, reason) => {
        if (!recorded) return; // the stalled client: the server may cut it, by design
        if (code !== 1000 && code !== 1005) errors.push(`socket closed with ${code} ${reason.toString()}`);
      });
      socket.on('message', (data: Buffer) => {
        const at = now();
        const frame = JSON.parse(data.toString('utf8')) as Frame;
        switch (frame.type) {
          case 'next': {
            if (!recorded) return;
            const payload = frame.payload as { data?: { ordersChanged?: Poke } | null; errors?: unknown };
            const poke = payload.data?.ordersChanged;
            if (poke === undefined || payload.errors !== undefined) {
              errors.push(`next with errors: ${JSON.stringify(payload)}`);
              return;
            }
            pool.listener(base + Number(frame.id) - 1, poke, at);
            return;
          }
          case 'connection_ack':
            clearTimeout(timer);
            companies.forEach((companyId, i) => {
              socket.send(
                JSON.stringify({
                  id: String(i + 1),
                  type: 'subscribe',
                  payload: { query: subscriptionQuery, variables: { companyId } },
                }),
              );
            });
            resolve(socket);
            return;
          case 'ping':
            socket.send('{"type":"pong"}');
            return;
          case 'pong':
            return;
          default:
            errors.push(`unexpected ${frame.type}: ${JSON.stringify(frame.payload)}`);
        }
      });
    });
  }

  return pool;
}
